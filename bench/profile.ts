/**
 * `node --import tsx bench/profile.ts [klue|bare|bare-als] [path] [seconds]`: profiles one server (the
 * same sampling profiler as `--cpu-prof`, started after a warm-up) while autocannon loads it,
 * then prints where its CPU went (self time by function and by package).
 * `node --import tsx bench/profile.ts worker [klue|raw] [tasks] [concurrency]` does the same for
 * a worker draining that many queued no-op tasks. The .cpuprofile is left in bench/results/.
 * bench/worker-profile-diff.ts sets a klue worker beside a raw one in µs per task.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startRedis, stopAndClean } from '../test/helpers/redis.js';
import { benchDir, spawnChild } from './lib/common.js';
import { selfTimes, topShares } from './lib/profile-summary.js';
import { drainQueued } from './lib/worker-run.js';

const [which = 'klue', path = '/orders', seconds = '6', concurrency = '10'] = process.argv.slice(2);
const dir = join(benchDir, 'results');
mkdirSync(dir, { recursive: true });
// bench/results/*.cpuprofile is git-ignored.
const file = join(dir, `${which}-${path.replace(/\W+/g, '_')}-${Date.now()}.cpuprofile`);
const redis = await startRedis();
// Every child (klue server, producer, worker) uses this Redis.
process.env.REDIS_URL = redis.url;
try {
  if (which === 'worker') await profileWorker();
  else await profileServer();
} finally {
  await stopAndClean(redis);
}

async function profileWorker(): Promise<void> {
  const variant = path === 'raw' ? 'raw' : 'klue';
  const n = Number(seconds === '6' ? 50_000 : seconds);
  const done = await drainQueued({ url: redis.url, pid: redis.process.pid ?? -1 }, { variant, concurrency: Number(concurrency), n, profileTo: file });
  console.log(`worker ${variant} c=${concurrency}: ${done.tasksPerSec} tasks/s, worker CPU ${done.cpuUsPerTask} µs/task, redis CPU ${done.redisCpuUsPerTask} µs/task`);
}

async function profileServer(): Promise<void> {
  const server = which === 'klue' ? spawnChild('klue-server.ts', {}, { REDIS_URL: redis.url }) : spawnChild('bare-server.ts', { redisUrl: redis.url, als: which === 'bare-als' });
  const url = String((await server.next('ready')).url) + path;
  const warm = spawnChild('load.ts', { url, seconds: 2, connections: 50 });
  await warm.next('result');
  await warm.stop();
  server.send({ type: 'profile-start' });
  await server.next('profiling');
  const load = spawnChild('load.ts', { url, seconds: Number(seconds), connections: 50 });
  const res = await load.next('result');
  await load.stop();
  server.send({ type: 'profile-stop', file });
  await server.next('profiled');
  console.log(`${which} ${path}: ${Math.round(Number(res.rps))} req/s`);
  await server.stop();
}

const times = selfTimes(file);
console.log('\nself time by package/file');
for (const [share, k] of topShares(times.byPackage, times.totalUs, 25)) console.log(`  ${share.padStart(6)}  ${k}`);
console.log('\nself time by function');
for (const [share, k] of topShares(times.byFunction, times.totalUs, 40)) console.log(`  ${share.padStart(6)}  ${k}`);
console.log(`\nprofile: ${file}`);
