import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { KlueConfig } from '../config/config-types.js';
import { KlueError } from '../errors/klue-error.js';
import { rootLogger } from '../log/logger.js';
import { bullQueueName, queuePrefix } from './producer.js';
import { redisOptions } from './redis-connection.js';
import { resolveSecret } from './secret.js';
import { isPermanent, processJob, type TaskResult } from './task-runner.js';
import { registeredTasks, taskNames } from './task-registry.js';

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

function defaultQueues(): string[] {
  return [...new Set(['default', ...registeredTasks().map((t) => t.options.queue ?? 'default')])].sort();
}

/** Starts taking jobs from Redis. Tasks must be registered (their modules imported) first. */
export async function startWorker(config: KlueConfig, options: WorkerOptions = {}): Promise<KlueWorker> {
  const secret = resolveSecret(config);
  const log = rootLogger();
  const queues = options.queues?.length ? [...new Set(options.queues)] : defaultQueues();
  const concurrency = options.concurrency ?? config.async.concurrency;

  const active = new Map<Job, string | undefined>();
  const processor = async (job: Job, token?: string): Promise<TaskResult> => {
    const attempts = job.opts.attempts ?? 1;
    active.set(job, token);
    try {
      return await processJob({ data: job.data, jobId: job.id ?? '', jobName: job.name, attempt: job.attemptsMade + 1, attempts }, config, secret);
    } catch (err) {
      if (isPermanent(err)) throw new UnrecoverableError(err instanceof KlueError ? `${err.code}: ${err.message}` : (err as Error).message);
      throw err;
    } finally {
      active.delete(job);
    }
  };

  const workers = queues.map((queue) => {
    const worker = new Worker(bullQueueName(queue), processor, {
      connection: redisOptions(config, 'blocking'),
      prefix: queuePrefix(config),
      concurrency,
    });
    // Without a listener an 'error' event would throw and take the process down.
    worker.on('error', (err: Error) => log.error({ err: err.message, queue }, 'async: worker error'));
    return worker;
  });
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  log.info({ queues, concurrency, tasks: taskNames(), prefix: queuePrefix(config) }, `async: worker serving ${taskNames().length} task(s)`);

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
          await Promise.allSettled([...active].map(([job, token]) => job.moveToWait(token)));
        }
        log.info({ queues }, 'async: worker stopped');
      })();
      return closing;
    },
  };
}
