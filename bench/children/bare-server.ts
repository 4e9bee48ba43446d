// Bare Fastify with the fixture's body schema: (c) a plain route, (d) a route calling BullMQ's queue.add().
import { AsyncLocalStorage } from 'node:async_hooks';
import { Queue } from 'bullmq';
import Fastify, { LogController } from 'fastify';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { childArgs, orderSchema, RAW_JOB_OPTS, RAW_PREFIX, RAW_QUEUE, toParent } from '../lib/common.js';
import { answerProfileRequests } from '../lib/profiler.js';
import type { Order } from '../fixture/handlers/bench.js';

const { redisUrl, als = false, ctx = false } = childArgs<{ redisUrl: string; als?: boolean; ctx?: boolean }>();
// The same logger and level as klue's server, request logging off in both.
const logger = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
const app = Fastify({ loggerInstance: logger, logController: new LogController({ disableRequestLogging: true }) });
const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
const queue = new Queue(RAW_QUEUE, { connection, prefix: RAW_PREFIX });
const schema = { body: orderSchema() };

// With `als`, (c'): (c) plus what any request-context plugin (e.g. @fastify/request-context)
// does, one AsyncLocalStorage.run per request. On Node 20 that turns on async_hooks for every
// promise and async resource of the process (so it gets a process of its own), a cost klue's
// context (currentUser(), task calls) pays too.
// With `ctx`, (c''): the same with klue's runInContext, in the propagation klue uses by default
// (on Node 20, promise hooks: see src/core/context/propagation.ts).
const storage = als ? new AsyncLocalStorage<{ id: string }>() : undefined;
// Only klue's context module (dist/, as in bench/lib/klue.ts), not the rest of klue.
const { runInContext } = ctx ? ((await import(new URL('../../dist/core/context/context.js', import.meta.url).href)) as typeof import('../../src/core/context/context.js')) : { runInContext: undefined };
app.post('/orders/check', { schema }, async (request) => {
  const body = request.body as Order;
  if (storage) return storage.run({ id: request.id }, async () => ({ id: body.id, queued: false }));
  if (runInContext) return runInContext({ ctx: { request: { id: request.id, method: request.method, url: request.url } }, log: logger }, async () => ({ id: body.id, queued: false }));
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
