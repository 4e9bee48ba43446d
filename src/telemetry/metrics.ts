import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { flushRunTallies, RunTally } from './run-tally.js';
import { processSingleton } from '../util/process-singleton.js';

/**
 * klue's Prometheus metrics, one set per process. The server serves them at `/metrics`, merged
 * with those of the workers it supervises; a standalone `klue worker` serves its own.
 */
export interface KlueMetrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  enqueued: Counter<'task' | 'queue'>;
  taskDuration: Histogram<'task' | 'outcome'>;
  taskCompleted: Counter<'task'>;
  taskFailed: Counter<'task'>;
  taskRetried: Counter<'task'>;
  queueJobs: Gauge<'queue' | 'state'>;
  workersUp: Gauge;
  workerRestarts: Counter;
}

function create(): KlueMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'klue_' });
  const registers = [registry];
  return {
    registry,
    httpDuration: new Histogram({
      name: 'klue_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    enqueued: new Counter({ name: 'klue_tasks_enqueued_total', help: 'Task calls accepted by Redis', labelNames: ['task', 'queue'], registers }),
    taskDuration: new Histogram({
      name: 'klue_task_duration_seconds',
      help: 'Task run duration by outcome (completed, failed, retried)',
      labelNames: ['task', 'outcome'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
      registers,
      collect: flushRunTallies,
    }),
    taskCompleted: new Counter({ name: 'klue_tasks_completed_total', help: 'Task runs that succeeded', labelNames: ['task'], registers, collect: flushRunTallies }),
    taskFailed: new Counter({ name: 'klue_tasks_failed_total', help: 'Tasks that failed for good', labelNames: ['task'], registers }),
    taskRetried: new Counter({ name: 'klue_tasks_retried_total', help: 'Task runs that failed and will be retried', labelNames: ['task'], registers }),
    queueJobs: new Gauge({ name: 'klue_queue_jobs', help: 'Jobs per queue and state, read from Redis at scrape time (at most once per metrics_queue_max_age ms)', labelNames: ['queue', 'state'], registers }),
    workersUp: new Gauge({ name: 'klue_workers_up', help: 'Worker processes running under this klue start', registers }),
    workerRestarts: new Counter({ name: 'klue_worker_restarts_total', help: 'Worker processes restarted after they exited', registers }),
  };
}

let made: KlueMetrics | undefined;

/** This process' metrics (created on first use). */
export function metrics(): KlueMetrics {
  return (made ??= processSingleton('klue.metrics', create));
}

const runTallies = new Map<string, RunTally>();

/** Where a worker counts the completed runs of `task` (one per task name and process). */
export function completedRuns(task: string): RunTally {
  let tally = runTallies.get(task);
  if (!tally) {
    const m = metrics();
    runTallies.set(task, (tally = new RunTally(m.taskDuration, { task, outcome: 'completed' }, m.taskCompleted, { task })));
  }
  return tally;
}
