import { Queue } from 'bullmq';
import { inject } from 'vitest';
import type { AsyncConfig, KlueConfig } from '../../src/core/config/config-types.js';
import type { ContextStore, KlueContext } from '../../src/core/context/context.js';
import { runInContext } from '../../src/core/context/context.js';
import { rootLogger } from '../../src/core/log/logger.js';
import { bullQueueName, queuePrefix } from '../../src/tasks/transport/queue-names.js';
import { startAsync, stopAsync } from '../../src/tasks/transport/runtime.js';
import { startWorker, type KlueWorker, type WorkerOptions } from '../../src/tasks/run/worker.js';
import { testConfig } from './config.js';

export interface Harness {
  config: KlueConfig;
  worker?: KlueWorker;
  /** A plain BullMQ queue on the service's namespace, to inspect or inject jobs. */
  rawQueue(name?: string): Queue;
  stop(): Promise<void>;
}

/** Starts the async runtime (queue mode, on the shared test Redis, in a fresh namespace) and optionally a worker. */
export async function startHarness(options: { async?: Partial<AsyncConfig>; worker?: WorkerOptions | false } = {}): Promise<Harness> {
  const config = await testConfig({ redis_url: inject('redisUrl'), ...options.async });
  await startAsync(config, 'server');
  const worker = options.worker === false ? undefined : await startWorker(config, options.worker ?? {});
  const raw = new Map<string, Queue>();
  return {
    config,
    worker,
    rawQueue(name = 'default') {
      let q = raw.get(name);
      if (!q) {
        q = new Queue(bullQueueName(name), { connection: { url: inject('redisUrl') }, prefix: queuePrefix(config) });
        raw.set(name, q);
      }
      return q;
    },
    async stop() {
      await worker?.close();
      await stopAsync();
      await Promise.all([...raw.values()].map((q) => q.close()));
    },
  };
}

/** A store like the server makes for a request: its context, a logger and the pending set. */
export function requestStore(ctx: KlueContext): ContextStore & { pending: Set<Promise<unknown>> } {
  return { ctx, log: rootLogger(), pending: new Set() };
}

export function inRequest<T>(store: ContextStore, fn: () => T): T {
  return runInContext(store, fn);
}
