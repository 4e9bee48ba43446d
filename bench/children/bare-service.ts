// The hand-written equivalent of `klue start` that bench/startup.ts times: Fastify with `GET /ping`
// and a BullMQ Queue + Worker on one queue, connection from REDIS_URL, port from argv[2].
//
// One process, server and worker together. `klue start` runs its worker as a child process that it
// starts once the server listens; the hand-written side could also start two processes at once,
// but one process is what a service written by hand most often is, and it is not the cheaper
// choice on every count: its worker waits for the server's modules to load, where a second process
// would load BullMQ alone beside it. The worker's concurrency is klue's default (10); the logger is
// pino writing JSON lines, as klue's; TypeScript goes through tsx, as the example's modules do.
import { Queue, Worker } from 'bullmq';
import Fastify from 'fastify';
import { pino } from 'pino';

const port = Number(process.argv[2]);
const url = process.env.REDIS_URL;
if (!url || !Number.isInteger(port)) throw new Error('usage: REDIS_URL=redis://... bare-service.ts <port>');

const logger = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
const app = Fastify({ loggerInstance: logger });
app.get('/ping', async () => ({}));

const prefix = 'bare:startup';
const queue = new Queue('default', { connection: { url }, prefix });
const worker = new Worker('default', async () => undefined, { connection: { url, maxRetriesPerRequest: null }, prefix, concurrency: 10 });
worker.on('error', (err) => logger.warn({ err: err.message }, 'worker error'));
queue.on('error', (err) => logger.warn({ err: err.message }, 'queue error'));

await app.listen({ port, host: '127.0.0.1' });
await worker.waitUntilReady();
logger.info({ queue: queue.name, concurrency: 10 }, 'bare: worker ready');

process.once('SIGTERM', () => {
  void Promise.allSettled([app.close(), worker.close(), queue.close()]).then(() => process.exit(0));
});
