import { runWorker } from '../async/worker-main.js';

export async function workerCommand(opts: { env?: string; queues?: string; concurrency?: number }): Promise<void> {
  await runWorker({
    env: opts.env,
    queues: opts.queues ? opts.queues.split(',').map((q) => q.trim()).filter(Boolean) : undefined,
    concurrency: opts.concurrency,
  });
}
