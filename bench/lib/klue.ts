/**
 * klue's internals as built in dist/ (what `klue start` runs), typed from the sources.
 * The bench measures the compiled code; `npm run bench` builds it first.
 */
const dist = new URL('../../dist/', import.meta.url);

async function load<T>(path: string): Promise<T> {
  return (await import(new URL(path, dist).href)) as T;
}

export const { loadConfig } = await load<typeof import('../../src/core/config/load-config.js')>('core/config/load-config.js');
export const { createRootLogger } = await load<typeof import('../../src/core/log/logger.js')>('core/log/logger.js');
export const { loadService } = await load<typeof import('../../src/service/load-service.js')>('service/load-service.js');
export const { serve } = await load<typeof import('../../src/http/serve.js')>('http/serve.js');
export const { startAsync, stopAsync, getRuntime } = await load<typeof import('../../src/tasks/transport/runtime.js')>('tasks/transport/runtime.js');
export const { startWorker } = await load<typeof import('../../src/tasks/run/worker.js')>('tasks/run/worker.js');
export const { runInContext } = await load<typeof import('../../src/core/context/context.js')>('core/context/context.js');
export const { settlePending } = await load<typeof import('../../src/tasks/caller/pending.js')>('tasks/caller/pending.js');
export const { bullQueueName, queuePrefix } = await load<typeof import('../../src/tasks/transport/queue-names.js')>('tasks/transport/queue-names.js');
export const { jobOptions } = await load<typeof import('../../src/tasks/caller/task-call.js')>('tasks/caller/task-call.js');

export const { openEnvelope, sealEnvelope } = await load<typeof import('../../src/tasks/envelope/envelope.js')>('tasks/envelope/envelope.js');
export const { KlueBullWorker, jobDataJson } = await load<typeof import('../../src/tasks/run/bull-worker.js')>('tasks/run/bull-worker.js');
export const { MemoryRunLedger } = await load<typeof import('../../src/tasks/transport/run-ledger.js')>('tasks/transport/run-ledger.js');
export const { processJob } = await load<typeof import('../../src/tasks/run/task-runner.js')>('tasks/run/task-runner.js');
export const { resolveSecret } = await load<typeof import('../../src/tasks/secret.js')>('tasks/secret.js');
export const { getTask } = await load<typeof import('../../src/tasks/registry.js')>('tasks/registry.js');
export const { decodeValue } = await load<typeof import('../../src/tasks/envelope/codec.js')>('tasks/envelope/codec.js');
export const { rootLogger } = await load<typeof import('../../src/core/log/logger.js')>('core/log/logger.js');

export type { KlueConfig } from '../../src/core/config/config-types.js';
export type { ContextStore } from '../../src/core/context/context.js';
