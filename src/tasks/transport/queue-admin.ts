import { Queue, type Job } from 'bullmq';
import { Cluster, type Redis } from 'ioredis';
import { bullQueueName, queuePrefix } from './queue-names.js';
import { createRedisConnection, type ConnectionRole } from './redis-connection.js';
import { watchRedisState } from './redis-state.js';
import { rootLogger } from '../../core/log/logger.js';
import { openEnvelope } from '../envelope/envelope.js';
import { RedisRunLedger } from './run-ledger.js';
import { resolveSecret } from '../secret.js';
import { registeredTasks } from '../registry.js';
import type { KlueConfig } from '../../core/config/config-types.js';

export interface QueueStats {
  queue: string;
  waiting: number;
  active: number;
  delayed: number;
  prioritized: number;
  failed: number;
  completed: number;
}

export interface FailedTask {
  id: string;
  queue: string;
  task: string;
  error: string;
  attempts: number;
  failedAt?: string;
  requestId?: string;
  user?: string;
}

/** Reads the envelope's context for display only: it is not trusted, so it is not verified. */
function envelopeContext(job: Job): { requestId?: string; user?: string } {
  try {
    const payload = (job.data as { p?: unknown }).p as { ctx?: { request?: { id?: string }; user?: { sub?: string } } } | undefined;
    return { requestId: payload?.ctx?.request?.id, user: payload?.ctx?.user?.sub };
  } catch {
    return {};
  }
}

/** Operator view of a service's queues: the `klue queue` commands and the dashboard use it. */
export class QueueAdmin {
  private readonly connection: Redis | Cluster;
  private readonly queues = new Map<string, Queue>();
  private readonly prefix: string;
  private readonly ledger: RedisRunLedger;

  /** `role`: `producer` fails fast when Redis is away (for /metrics); the CLI waits for it. */
  constructor(
    private readonly config: KlueConfig,
    role: ConnectionRole = 'blocking',
  ) {
    this.prefix = queuePrefix(config);
    this.connection = createRedisConnection(config, role);
    watchRedisState(this.connection, rootLogger(), { what: 'queue view', meanwhile: 'queue counts (klue queue, dashboard, gauges) are unavailable' });
    this.ledger = new RedisRunLedger((queue) => `${this.prefix}:${bullQueueName(queue)}`, () => Promise.resolve(this.connection));
  }

  /** Queues registered tasks name, plus every queue of this service that has keys in Redis. */
  async queueNames(): Promise<string[]> {
    const names = new Set<string>(['default', ...registeredTasks().map((t) => t.options.queue ?? 'default')]);
    const match = `${this.prefix}:{*}:meta`;
    // SCAN sees one node's keys: on a cluster every master is scanned.
    const nodes: (Redis | Cluster)[] = this.connection instanceof Cluster ? this.connection.nodes('master') : [this.connection];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', 500);
        cursor = next;
        for (const key of keys) {
          const m = /:\{(.+)\}:meta$/.exec(key);
          if (m?.[1]) names.add(m[1]);
        }
      } while (cursor !== '0');
    }
    return [...names].sort();
  }

  queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(bullQueueName(name), { connection: this.connection, prefix: this.prefix });
      // The connection's outages are logged by watchRedisState; without a listener BullMQ prints each error with console.error.
      q.on('error', (err: Error) => rootLogger().debug({ err: err.message, queue: name }, 'async: queue error'));
      this.queues.set(name, q);
    }
    return q;
  }

  async stats(): Promise<QueueStats[]> {
    const out: QueueStats[] = [];
    for (const name of await this.queueNames()) {
      const c = await this.queue(name).getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed');
      out.push({
        queue: name,
        waiting: c.waiting ?? 0,
        active: c.active ?? 0,
        delayed: c.delayed ?? 0,
        prioritized: c.prioritized ?? 0,
        failed: c.failed ?? 0,
        completed: c.completed ?? 0,
      });
    }
    return out;
  }

  async failed(limit = 20): Promise<FailedTask[]> {
    const out: FailedTask[] = [];
    for (const name of await this.queueNames()) {
      const jobs = await this.queue(name).getFailed(0, Math.max(0, limit - 1));
      for (const job of jobs) {
        out.push({
          id: job.id ?? '?',
          queue: name,
          task: job.name,
          error: job.failedReason,
          attempts: job.attemptsMade,
          failedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : undefined,
          ...envelopeContext(job),
        });
      }
    }
    return out.sort((a, b) => (b.failedAt ?? '').localeCompare(a.failedAt ?? '')).slice(0, limit);
  }

  /**
   * Lets a job's envelope run again: drops the workers' record that it ran to its end. They refuse
   * to run a finished envelope again, which is what stops a replay by whoever can write to Redis;
   * an operator's retry (`klue queue retry`, the dashboard's) says so with the service's secret.
   * Its envelope, and so its user context, is kept.
   */
  async allowRerun(queueName: string, job: Job): Promise<void> {
    try {
      const payload = openEnvelope(job.data, resolveSecret(this.config), this.config.async.max_payload);
      await this.ledger.grant(queueName, payload.id, payload.exp);
    } catch {
      // Not a valid envelope: retried as asked, and refused again by the worker with its reason.
    }
  }

  /** allowRerun for every job of a queue in `state`, as they are now. */
  async allowRerunAll(queueName: string, state: 'failed' | 'completed'): Promise<void> {
    for (const job of await this.queue(queueName).getJobs([state], 0, -1)) await this.allowRerun(queueName, job);
  }

  private async retryJob(name: string, job: Job): Promise<void> {
    await this.allowRerun(name, job);
    await job.retry('failed');
  }

  /** Retries one failed job (by id, in whichever queue holds it). */
  async retry(id: string): Promise<string | undefined> {
    for (const name of await this.queueNames()) {
      const job = await this.queue(name).getJob(id);
      if (job && (await job.isFailed())) {
        await this.retryJob(name, job);
        return name;
      }
    }
    return undefined;
  }

  /** Retries every failed job; returns how many were failed before. */
  async retryAllFailed(): Promise<number> {
    let n = 0;
    for (const name of await this.queueNames()) {
      // The failed set as it is now: a retried job that fails again comes back into it.
      const failed = await this.queue(name).getFailed(0, -1);
      for (const job of failed) await this.retryJob(name, job);
      n += failed.length;
    }
    return n;
  }

  /** Removes completed (and with `failed`, failed) jobs older than `graceMs`. */
  async clean(graceMs: number, states: ('completed' | 'failed')[]): Promise<number> {
    let n = 0;
    for (const name of await this.queueNames()) {
      for (const state of states) n += (await this.queue(name).clean(graceMs, 100_000, state)).length;
    }
    return n;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.connection.disconnect();
  }
}
