import { Job, Queue, QueueEvents, type JobsOptions } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { KlueConfig } from '../../core/config/config-types.js';
import { KlueError } from '../../core/errors/klue-error.js';
import { metrics } from '../../telemetry/metrics.js';
import { addStandardJobs, isStandardJob } from './add-jobs.js';
import { bullQueueName, queuePrefix } from './queue-names.js';
import { BullConnections, createRedisConnection } from './redis-connection.js';
import { watchRedisState, type RedisState } from './redis-state.js';

/** One task call ready to be queued. */
export interface EnqueueItem {
  queue: string;
  name: string;
  /** The job data's JSON text: a sealed envelope. */
  data: string;
  /** The job id, signed into the envelope: the caller's `jobId`, else the call's own id. */
  jobId: string;
  /** Options without the job id (shared by the calls of a task). */
  opts: JobsOptions;
}

export interface Enqueued {
  /** The job id (the `jobId` chosen, else the call's own id). */
  id: string;
  duplicate: boolean;
}

interface Waiter {
  item: EnqueueItem;
  resolve(value: Enqueued): void;
  reject(err: unknown): void;
}

/**
 * A batch is sent once it holds this many calls, not at the end of the event loop turn: Redis
 * then adds the first calls while the server still handles the turn's other requests, instead
 * of the two taking turns. Under 50 concurrent requests that each queue a task, 16 answered
 * 1.07-1.25x the requests per second of one batch per turn (about 20 calls), 8 and 24 less.
 */
export const MAX_BATCH = 16;
/** An enqueue Redis has not acknowledged after this long fails, so no request ever hangs on Redis. */
export const ENQUEUE_TIMEOUT_MS = 2000;

function unavailable(reason: string, cause?: unknown): KlueError {
  return new KlueError('ASYNC_UNAVAILABLE', `Redis did not accept the task call (${reason}); nothing was queued`, { cause });
}

/**
 * Sends task calls to Redis. Calls made in the same tick are coalesced into one batch per
 * queue, sent as ONE Redis command (add-jobs.ts; calls with a delay or a priority go through
 * BullMQ's `addBulk` in the same round trip): one round trip for many concurrent requests.
 * Each caller is resolved only once Redis acknowledged the batch holding its call.
 */
export class Producer {
  private readonly connection: Redis | Cluster;
  /** Connections of the QueueEvents that `result()` listens on. */
  private readonly eventConnections: BullConnections;
  private readonly queues = new Map<string, Queue>();
  private readonly events = new Map<string, Promise<QueueEvents>>();
  private readonly batches = new Map<string, Waiter[]>();
  private readonly inflight = new Set<Promise<void>>();
  private scheduled: NodeJS.Immediate | undefined;
  /** One log line per outage of the connection, not one per reconnection attempt. */
  private readonly redis: RedisState;
  /** Number of batches (round trips) sent, for tests and metrics. */
  bulkCalls = 0;

  constructor(
    private readonly config: KlueConfig,
    private readonly log: Logger,
  ) {
    this.connection = createRedisConnection(config, 'producer');
    this.eventConnections = new BullConnections(config, 'blocking');
    this.redis = watchRedisState(this.connection, log, { what: 'task calls', meanwhile: 'task calls fail with ASYNC_UNAVAILABLE' });
  }

  /** Resolves true once Redis answers; false at the first connection error or after `ms`. */
  async ready(ms: number): Promise<boolean> {
    if (this.connection.status === 'ready') return true;
    return new Promise((resolve) => {
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        this.connection.off('ready', onReady);
        this.connection.off('error', onError);
        resolve(ok);
      };
      const onReady = () => finish(true);
      const onError = () => finish(false);
      const timer = setTimeout(() => finish(false), ms);
      this.connection.once('ready', onReady);
      this.connection.once('error', onError);
    });
  }

  queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(bullQueueName(name), { connection: this.connection, prefix: queuePrefix(this.config) });
      queue.on('error', (err: Error) => this.log.debug({ err: err.message, queue: name }, 'async: queue error'));
      this.queues.set(name, queue);
    }
    return queue;
  }

  enqueue(item: EnqueueItem): Promise<Enqueued> {
    return new Promise<Enqueued>((resolve, reject) => {
      let batch = this.batches.get(item.queue);
      if (!batch) this.batches.set(item.queue, (batch = []));
      batch.push({ item, resolve, reject });
      if (batch.length >= MAX_BATCH) this.send(item.queue);
      else this.scheduled ??= setImmediate(() => this.flushNow());
    });
  }

  private flushNow(): void {
    this.scheduled = undefined;
    for (const queue of [...this.batches.keys()]) this.send(queue);
  }

  private send(queueName: string): void {
    const waiters = this.batches.get(queueName);
    this.batches.delete(queueName);
    if (!waiters?.length) return;
    const done = this.sendBatch(queueName, waiters).finally(() => this.inflight.delete(done));
    this.inflight.add(done);
  }

  private async sendBatch(queueName: string, waiters: Waiter[]): Promise<void> {
    // During an outage fail at once rather than after ENQUEUE_TIMEOUT_MS: requests get their 503 fast.
    if (this.redis.down && this.connection.status !== 'ready') {
      const error = unavailable(`Redis is unreachable (${this.connection.status})`);
      for (const w of waiters) w.reject(error);
      return;
    }
    const queue = this.queue(queueName);
    this.bulkCalls++;
    const standard: Waiter[] = [];
    const other: Waiter[] = [];
    for (const w of waiters) (isStandardJob(w.item.opts) ? standard : other).push(w);
    // Both kinds go out in the same round trip; each caller is answered by its own kind's reply.
    await Promise.all([
      standard.length > 0 &&
        this.settle(queueName, standard, () =>
          addStandardJobs(
            queue,
            standard.map(({ item }) => item),
          ),
        ),
      other.length > 0 &&
        this.settle(queueName, other, async () => {
          // BullMQ serialises the data again, to the same text: JSON.stringify undoes JSON.parse of its own output.
          const jobs = await queue.addBulk(other.map(({ item }) => ({ name: item.name, data: JSON.parse(item.data) as unknown, opts: { ...item.opts, jobId: item.jobId } })));
          const duplicates = await this.findDuplicates(queue, other, jobs);
          return jobs.map((job, i) => ({ id: job.id ?? '', duplicate: duplicates[i] ?? false }));
        }),
    ]);
  }

  /** Runs `add` for `waiters` within ENQUEUE_TIMEOUT_MS and resolves (or rejects) each of them. */
  private async settle(queueName: string, waiters: Waiter[], add: () => Promise<Enqueued[]>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const adding = add();
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(
            new KlueError('ASYNC_UNAVAILABLE', `Redis gave no answer within ${ENQUEUE_TIMEOUT_MS} ms; the task call may not have been queued`),
          );
        }, ENQUEUE_TIMEOUT_MS);
      });
      // The losing add may still settle; it must not become an unhandled rejection.
      adding.catch(() => undefined);
      const added = await Promise.race([adding, timeout]);
      // One counter update per task name and batch, not one per call.
      const counts = new Map<string, number>();
      for (let i = 0; i < waiters.length; i++) {
        const w = waiters[i] as Waiter;
        const result = added[i] as Enqueued;
        if (!result.duplicate) counts.set(w.item.name, (counts.get(w.item.name) ?? 0) + 1);
        w.resolve(result);
      }
      if (counts.size > 0) {
        const enqueued = metrics().enqueued;
        for (const [task, n] of counts) enqueued.inc({ task, queue: queueName }, n);
      }
    } catch (err) {
      const error = err instanceof KlueError ? err : unavailable((err as Error).message, err);
      for (const w of waiters) w.reject(error);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * BullMQ answers a duplicate jobId with the existing job's id, indistinguishable from a new
   * job; reading back the stored signature tells whether the job is ours. Only calls that chose
   * a jobId pay for it.
   */
  private async findDuplicates(queue: Queue, waiters: Waiter[], jobs: Job[]): Promise<boolean[]> {
    const checks = waiters.flatMap((w, i) => (w.item.opts.jobId ? [i] : []));
    if (checks.length === 0) return [];
    const pipeline = this.connection.pipeline();
    for (const i of checks) pipeline.hget(queue.toKey(jobs[i]?.id ?? ''), 'data');
    const results = (await pipeline.exec()) ?? [];
    const out: boolean[] = [];
    checks.forEach((i, k) => {
      const [err, stored] = results[k] ?? [];
      if (err) throw err;
      out[i] = typeof stored === 'string' && stored !== waiters[i]?.item.data;
    });
    return out;
  }

  /** Waits for a job to finish; QueueEvents are only created (once per queue) when this is used. */
  async waitForResult(queueName: string, name: string, id: string, timeoutMs?: number): Promise<unknown> {
    let events = this.events.get(queueName);
    if (!events) {
      events = this.openEvents(queueName);
      this.events.set(queueName, events);
      // Redis away: let the next result() try again rather than inherit this failure.
      events.catch(() => this.events.delete(queueName));
    }
    // A handle only needs the id; BullMQ's Job is made here, for the few calls whose result is awaited.
    const job = new Job(this.queue(queueName), name, undefined, {}, id);
    return job.waitUntilFinished(await events, timeoutMs);
  }

  /**
   * QueueEvents reading from the stream's current end. With BullMQ's default ('$', taken when
   * its first XREAD runs) an event written between our finished-check and that XREAD is lost
   * and result() would wait forever.
   */
  private async openEvents(queueName: string): Promise<QueueEvents> {
    const [last] = await this.connection.xrevrange(this.queue(queueName).keys.events ?? '', '+', '-', 'COUNT', 1);
    const events = new QueueEvents(bullQueueName(queueName), {
      connection: this.eventConnections.next(),
      prefix: queuePrefix(this.config),
      lastEventId: last?.[0] ?? '0-0',
    });
    events.on('error', (err: Error) => this.log.debug({ err: err.message, queue: queueName }, 'async: queue events error'));
    return events;
  }

  /** Sends what is batched and waits for every batch in flight. */
  async flush(): Promise<void> {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.flushNow();
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
  }

  async close(): Promise<void> {
    await this.flush();
    await Promise.allSettled([...this.events.values()].map(async (e) => (await e).close()));
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    this.events.clear();
    this.queues.clear();
    this.eventConnections.disconnect();
    this.connection.disconnect();
  }
}
