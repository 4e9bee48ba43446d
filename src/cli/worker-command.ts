import { runWorker } from '../process/worker-main.js';

export async function workerCommand(opts: { env?: string; queues?: string; concurrency?: number; metricsPort?: number }): Promise<void> {
  const code = await runWorker({
    env: opts.env,
    queues: opts.queues ? opts.queues.split(',').map((q) => q.trim()).filter(Boolean) : undefined,
    concurrency: opts.concurrency,
    metricsPort: opts.metricsPort,
  });
  // A task that outlived shutdown_timeout can keep BullMQ's connections open: it was put back
  // in the queue, so leaving now loses nothing.
  process.exit(code);
}
