// A hand-written BullMQ worker alone, the yardstick of a klue worker's idle RSS in
// bench/startup.ts: one Worker on one queue (klue's default concurrency, 10), pino JSON logs,
// loaded through tsx as the example's modules are. Connection from REDIS_URL.
import { Worker } from 'bullmq';
import { pino } from 'pino';

const url = process.env.REDIS_URL;
if (!url) throw new Error('usage: REDIS_URL=redis://... bare-worker.ts');

const logger = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
const worker = new Worker('default', async () => undefined, { connection: { url, maxRetriesPerRequest: null }, prefix: 'bare:startup', concurrency: 10 });
worker.on('error', (err) => logger.warn({ err: err.message }, 'worker error'));
await worker.waitUntilReady();
logger.info({ queue: worker.name, concurrency: 10 }, 'bare: worker ready');

process.once('SIGTERM', () => {
  void worker.close().then(() => process.exit(0));
});
