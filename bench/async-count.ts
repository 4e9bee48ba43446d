/**
 * `node --import tsx bench/async-count.ts [tasks] [concurrency]`: how many async resources
 * (promises, ticks, timers) a worker makes per task: a raw BullMQ Worker, the same with its
 * processor in an AsyncLocalStorage.run, and klue's worker. On Node 20, once AsyncLocalStorage
 * is on, each of them runs its async_hooks callbacks; with klue's default propagation (promise
 * hooks) each promise runs its hooks. So this is what a context costs, by count.
 * The counting hook slows every variant: only the counts mean anything, not the speed.
 */
import { Redis } from 'ioredis';
import { startRedis, stopAndClean } from '../test/helpers/redis.js';
import { drainQueued } from './lib/worker-run.js';

const [n = 5000, concurrency = 10] = process.argv.slice(2).map(Number);
const redis = await startRedis();
process.env.REDIS_URL = redis.url;
const admin = new Redis(redis.url);
try {
  console.log(`${n.toLocaleString('en-US')} no-op tasks, concurrency ${concurrency}: async resources made per task`);
  for (const variant of ['raw', 'raw-als', 'klue'] as const) {
    await admin.flushall();
    const run = await drainQueued({ url: redis.url, pid: redis.process.pid ?? -1 }, { variant, concurrency, n, countAsync: true });
    const made = Object.entries(run.asyncPerTask ?? {}).filter(([, k]) => k >= 0.01);
    console.log(`  ${variant.padEnd(8)} ${made.map(([type, k]) => `${type} ${k}`).join(', ')}`);
  }
} finally {
  admin.disconnect();
  await stopAndClean(redis);
}
