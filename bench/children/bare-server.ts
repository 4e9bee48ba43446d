// Bare Fastify with the fixture's body schema: (c) a plain route, (d) a route calling BullMQ's queue.add().
import { Queue } from 'bullmq';
import Fastify, { LogController } from 'fastify';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { childArgs, orderSchema, RAW_JOB_OPTS, RAW_PREFIX, RAW_QUEUE, toParent } from '../lib/common.js';
import { answerProfileRequests } from '../lib/profiler.js';
import type { Order } from '../fixture/handlers/bench.js';

const { redisUrl } = childArgs<{ redisUrl: string }>();
// The same logger and level as klue's server, request logging off in both.
const logger = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
const app = Fastify({ loggerInstance: logger, logController: new LogController({ disableRequestLogging: true }) });
const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
const queue = new Queue(RAW_QUEUE, { connection, prefix: RAW_PREFIX });
const schema = { body: orderSchema() };

app.post('/orders/check', { schema }, async (request) => {
  const body = request.body as Order;
  return { id: body.id, queued: false };
});
app.post('/orders', { schema }, async (request) => {
  const body = request.body as Order;
  await queue.add('benchNoop', { args: [body] }, RAW_JOB_OPTS);
  return { id: body.id, queued: true };
});
await app.listen({ port: 0, host: '127.0.0.1' });
const addr = app.server.address();
answerProfileRequests();
toParent({ type: 'ready', url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}` });
process.once('SIGTERM', () => {
  void app.close().then(async () => {
    await queue.close();
    connection.disconnect();
    process.exit(0);
  });
});
