import { setMaxListeners } from 'node:events';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { KlueConfig } from '../../core/config/config-types.js';
import { contextStorage, type KlueContext } from '../../core/context/context.js';
import { KlueError } from '../../core/errors/klue-error.js';
import { reportError } from '../../core/errors/reporter.js';
import { rootLogger, type Logger } from '../../core/log/logger.js';
import { metrics } from '../../telemetry/metrics.js';
import { openEnvelope } from '../envelope/envelope.js';
import { failureReason } from '../failure-reason.js';
import { bullQueueName, queuePrefix } from '../transport/queue-names.js';
import { jobDataJson, KlueBullWorker, scriptClaimOf, unreadableReason } from './bull-worker.js';
import { defineLedgerScripts, ledgerScripts, type LedgerScript, type ScriptHost } from '../transport/ledger-scripts.js';
import { BullConnections, createRedisConnection } from '../transport/redis-connection.js';
import { RedisRunLedger, type RunLedger } from '../transport/run-ledger.js';
import { resolveSecret } from '../secret.js';
import type { TaskResult } from '../envelope/codec.js';
import { finishRun, isPermanent, processJob, type JobRun } from './task-runner.js';
import { UnknownTaskDeferred } from './unknown-task.js';
import { getTask, registeredTasks, taskNames } from '../registry.js';
import { settled } from '../../util/settled.js';
import { waitAtMost } from '../../util/wait-at-most.js';

export interface WorkerOptions {
  /** Queues to serve. Default: every queue a registered task names, plus `'default'`. */
  queues?: string[];
  /** Tasks run at once per queue. Default `async.concurrency` (10). */
  concurrency?: number;
}

/** A running worker: one BullMQ Worker per served queue. */
export interface KlueWorker {
  readonly queues: readonly string[];
  /**
   * Stops taking jobs and lets active ones finish within `async.shutdown_timeout`; jobs still
   * running then are put back in the queue (their attempt not counted) for another worker.
   */
  close(): Promise<void>;
}

/** BullMQ's reason for a job that stalled more than `maxStalledCount` times. */
const STALLED_TOO_OFTEN = 'job stalled more than allowable limit';
/** Releasing jobs at shutdown talks to Redis, which may be down: never wait longer than this for it. */
const RELEASE_TIMEOUT_MS = 2000;
/** The same worker error is logged at most once per this many ms (an outage repeats it on every retry). */
const ERROR_LOG_INTERVAL_MS = 10_000;

function defaultQueues(): string[] {
  return [...new Set(['default', ...registeredTasks().map((t) => t.options.queue ?? 'default')])].sort();
}

/** Starts taking jobs from Redis. Tasks must be registered (their modules imported) first. */
export async function startWorker(config: KlueConfig, options: WorkerOptions = {}): Promise<KlueWorker> {
  const secret = resolveSecret(config);
  const log = rootLogger();
  const queues = options.queues?.length ? [...new Set(options.queues)] : defaultQueues();
  const concurrency = options.concurrency ?? config.async.concurrency;

  const active = new Map<Job, { token: string | undefined; run: JobRun }>();
  /** Runs that returned, until BullMQ has stored their job's completion. */
  const completing = new WeakMap<Job, JobRun>();
  // The ledger's own connection, auto-pipelined (see ConnectionRole), for what BullMQ's scripts
  // do not do (ledger-scripts.ts). Outages are reported by the BullMQ clients.
  const ledgerConnection = createRedisConnection(config, 'ledger');
  ledgerConnection.on('error', () => undefined);
  const ledger = new RedisRunLedger((queue) => `${queuePrefix(config)}:${bullQueueName(queue)}`, () => Promise.resolve(ledgerConnection));
  // Aborted once the runs still active at shutdown_timeout are back in the queue: their
  // taskSignal() tells them to stop. Every active run may listen, hence no listener limit.
  const release = new AbortController();
  setMaxListeners(0, release.signal);
  /** What BullMQ is told of a run that did not complete: deferred, failed for good, or to retry. */
  const notCompleted = async (err: unknown, job: Job, token: string | undefined): Promise<never> => {
    try {
      if (err instanceof UnknownTaskDeferred) {
        // Why the job waits rather than runs, in its logs (the dashboard shows them); best effort.
        await job.log(err.message).catch(() => undefined);
        // Back to the delayed set without using an attempt (BullMQ's manual delay).
        await job.moveToDelayed(Date.now() + err.retryInMs, token);
        throw new DelayedError();
      }
      // BullMQ stores only a message: it carries the code, for result() in another process.
      if (isPermanent(err)) throw new UnrecoverableError(failureReason(err));
      if (err instanceof KlueError) throw new Error(failureReason(err), { cause: err });
      throw err;
    } finally {
      active.delete(job);
    }
  };
  // A promise chain rather than an async function, as in processJob: on Node 20, with
  // AsyncLocalStorage on, each promise made per job costs.
  const processorOf = (queue: string) => (job: Job, token?: string): Promise<TaskResult> => {
    const run: JobRun = {
      data: job.data as unknown,
      dataJson: jobDataJson(job),
      jobId: job.id ?? '',
      jobName: job.name,
      queue,
      delay: job.opts.delay ?? 0,
      priority: job.opts.priority ?? 0,
      repeated: Boolean(job.opts.repeat ?? job.repeatJobKey),
      queuedAt: job.timestamp,
      attempt: job.attemptsMade + 1,
      attempts: job.opts.attempts ?? 1,
      released: release.signal,
      unreadable: unreadableReason(job),
      scriptClaim: scriptClaimOf(job),
    };
    active.set(job, { token, run });
    return settled(() => processJob(run, config, secret, ledger)).then(
      (result) => {
        active.delete(job);
        completing.set(job, run);
        return result;
      },
      (err: unknown) => notCompleted(err, job, token),
    );
  };

  const logError = throttledErrorLog(log);
  const connections = new BullConnections(config, 'blocking');
  const workers = queues.map((queue) => {
    const worker = new KlueBullWorker(bullQueueName(queue), processorOf(queue), {
      connection: connections.next(),
      prefix: queuePrefix(config),
      concurrency,
      // A task whose worker died (SIGKILL, OOM, crash) runs again once its lock expires and a
      // stalled check sees it: both follow stalled_interval, so recovery takes 1-2 intervals.
      stalledInterval: config.async.stalled_interval,
      lockDuration: config.async.stalled_interval,
      maxStalledCount: config.async.max_stalled,
      // Run below, once every queue's connection is up.
      autorun: false,
    });
    // Without a listener an 'error' event would throw and take the process down.
    worker.on('error', (err: Error) => logError(queue, err));
    worker.on('stalled', (jobId: string) => {
      log.warn({ job_id: jobId, queue }, 'async: a task lost its worker (killed, crashed or blocked past its lock); it runs again, unless that happened more than async.max_stalled times');
    });
    // BullMQ emits this once the job's completion is stored in Redis.
    worker.on('completed', (job: Job) => {
      const run = completing.get(job);
      completing.delete(job);
      if (run) finishRun(run, ledger);
    });
    worker.on('failed', (job: Job | undefined, err: Error) => {
      if (job && err.message === STALLED_TOO_OFTEN) void reportStalledTooOften(job, queue, config, secret, log, ledger);
    });
    return worker;
  });
  const [, scripts] = await Promise.all([Promise.all(workers.map((w) => w.waitUntilReady())), ledgerScripts()]);
  await useLedgerScripts(workers, scripts, log);
  // Taking jobs only now, with nothing awaited before returning: `klue worker` shuts down
  // gracefully on a signal only once this has returned (one before ends the process), so a job
  // taken earlier would be left to the stalled check (a queue whose connection came up first
  // took jobs while another's was still connecting).
  workers.forEach((worker, i) => {
    worker.run().catch((err: Error) => logError(queues[i] ?? '', err));
  });
  log.info({ queues, concurrency, tasks: taskNames(), prefix: queuePrefix(config), context_propagation: contextStorage.propagation }, `async: worker serving ${taskNames().length} task(s)`);

  let closing: Promise<void> | undefined;
  return {
    queues,
    close() {
      closing ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        const graceful = Promise.all(workers.map((w) => w.close())).then(() => true);
        const timeout = new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), config.async.shutdown_timeout);
        });
        const finished = await Promise.race([graceful, timeout]);
        clearTimeout(timer);
        if (!finished) {
          log.warn(
            { shutdown_timeout: config.async.shutdown_timeout, active: [...active.keys()].map((j) => j.id) },
            'async: tasks still running at shutdown_timeout; putting them back in the queue',
          );
          // BullMQ's forced close cannot follow a graceful one (and hanging up under a closing
          // worker makes it spin); release the jobs instead, so another worker takes them now
          // rather than when their locks expire. The graceful close ends when they do, or
          // with the process.
          // With Redis down they cannot be released; their locks expire and another worker runs them.
          await waitAtMost(
            Promise.allSettled(
              [...active].map(async ([job, { token, run }]) => {
                await job.moveToWait(token);
                // The run does not count: another worker's run of the job is not one too many.
                if (run.claimed) await ledger.release(run.queue, run.claimed.id, run.claimed.exp);
              }),
            ),
            RELEASE_TIMEOUT_MS,
          );
          // Told only once their jobs are back: a run that stops at once cannot complete its job first.
          release.abort(
            new KlueError('WORKER_SHUTDOWN', `the worker stopped with the task still running after async.shutdown_timeout (${config.async.shutdown_timeout} ms); it was put back in the queue`),
          );
        }
        connections.disconnect();
        // After the finishes of the last runs, which QUIT follows on the connection; Redis may be down.
        await waitAtMost(ledgerConnection.quit().catch(() => undefined), RELEASE_TIMEOUT_MS);
        ledgerConnection.disconnect();
        log.info({ queues }, 'async: worker stopped');
      })();
      return closing;
    },
  };
}

/**
 * A task failed by BullMQ for losing its worker more than `async.max_stalled` times never
 * reaches the processor, so it is logged and reported here, like any task that fails for good.
 */
async function reportStalledTooOften(job: Job, queue: string, config: KlueConfig, secret: string, log: Logger, ledger: RunLedger): Promise<void> {
  let ctx: KlueContext = {};
  let task = job.name;
  try {
    const payload = openEnvelope(job.data, secret, config.async.max_payload);
    ctx = payload.ctx;
    task = payload.task;
    // Failed for good: no copy of it runs again.
    await ledger.finish(queue, payload.id, payload.exp).catch(() => undefined);
  } catch {
    // An invalid envelope is reported as such when it runs; here the job name is enough.
  }
  const attempts = job.opts.attempts ?? 1;
  const error = new KlueError(
    'TASK_FAILED',
    `${task}: its worker died while running it more than async.max_stalled (${config.async.max_stalled}) times; failed for good`,
  );
  metrics().taskFailed.inc({ task: getTask(task) ? task : '(unknown)' });
  log.error(
    { task, job_id: job.id, req_id: ctx.request?.id, user_id: ctx.user?.sub, error_code: error.code, error_id: error.errorId, max_stalled: config.async.max_stalled },
    `async: task ${task} failed for good: its worker died while running it too many times`,
  );
  await reportError(error, { source: 'task', context: ctx, task: { name: task, jobId: job.id ?? '', attempt: job.attemptsMade, attempts } });
}

/** Logs worker errors, but the same message at most once per ERROR_LOG_INTERVAL_MS per queue. */
function throttledErrorLog(log: Logger): (queue: string, err: Error) => void {
  const last = new Map<string, number>();
  return (queue, err) => {
    const key = `${queue}\n${err.message}`;
    const now = Date.now();
    if (now - (last.get(key) ?? -Infinity) < ERROR_LOG_INTERVAL_MS) return;
    last.set(key, now);
    log.error({ err: err.message, queue }, 'async: worker error');
  };
}

/**
 * Gives each worker's client klue's versions of BullMQ's moveToActive and moveToFinished, which
 * count and close runs in the ledger as they hand out and complete jobs (ledger-scripts.ts); or
 * says why not, and the ledger sends commands of its own.
 */
async function useLedgerScripts(workers: KlueBullWorker[], scripts: LedgerScript[] | string, log: Logger): Promise<void> {
  const slower = 'async: the run ledger counts each run with a command of its own (slower)';
  if (typeof scripts === 'string') {
    log.warn({ reason: scripts }, `${slower}: the installed BullMQ's scripts are not those klue extends`);
    return;
  }
  for (const worker of workers) {
    const client = (await worker.client) as unknown as Partial<ScriptHost>;
    if (typeof client.defineCommand !== 'function') {
      log.warn({ reason: 'the Redis client has no defineCommand' }, slower);
      return;
    }
    defineLedgerScripts(client as ScriptHost, scripts);
  }
}
