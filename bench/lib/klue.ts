/**
 * klue's internals as built in dist/ (what `klue start` runs), typed from the sources.
 * The bench measures the compiled code; `npm run bench` builds it first.
 */
const dist = new URL('../../dist/', import.meta.url);

async function load<T>(path: string): Promise<T> {
  return (await import(new URL(path, dist).href)) as T;
}

export const { loadConfig } = await load<typeof import('../../src/config/load-config.js')>('config/load-config.js');
export const { createRootLogger } = await load<typeof import('../../src/log/logger.js')>('log/logger.js');
export const { loadService } = await load<typeof import('../../src/service/load-service.js')>('service/load-service.js');
export const { serve } = await load<typeof import('../../src/server/serve.js')>('server/serve.js');
export const { startAsync, stopAsync, getRuntime } = await load<typeof import('../../src/async/runtime.js')>('async/runtime.js');
export const { startWorker } = await load<typeof import('../../src/async/worker.js')>('async/worker.js');
export const { runInContext } = await load<typeof import('../../src/context/context.js')>('context/context.js');
export const { settlePending } = await load<typeof import('../../src/async/pending.js')>('async/pending.js');
export const { bullQueueName, queuePrefix } = await load<typeof import('../../src/async/producer.js')>('async/producer.js');
export const { jobOptions } = await load<typeof import('../../src/async/task-call.js')>('async/task-call.js');

export const { openEnvelope, sealEnvelope } = await load<typeof import('../../src/async/envelope.js')>('async/envelope.js');
export const { KlueBullWorker, jobDataJson } = await load<typeof import('../../src/async/bull-worker.js')>('async/bull-worker.js');
export const { MemoryRunLedger } = await load<typeof import('../../src/async/run-ledger.js')>('async/run-ledger.js');
export const { processJob } = await load<typeof import('../../src/async/task-runner.js')>('async/task-runner.js');
export const { resolveSecret } = await load<typeof import('../../src/async/secret.js')>('async/secret.js');
export const { getTask } = await load<typeof import('../../src/async/task-registry.js')>('async/task-registry.js');
export const { decodeValue } = await load<typeof import('../../src/async/codec.js')>('async/codec.js');
export const { rootLogger } = await load<typeof import('../../src/log/logger.js')>('log/logger.js');

export type { KlueConfig } from '../../src/config/config-types.js';
export type { ContextStore } from '../../src/context/context.js';
