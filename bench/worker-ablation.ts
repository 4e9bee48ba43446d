/**
 * `node --import tsx bench/worker-ablation.ts [tasks] [concurrency] [rounds]`: where a klue
 * worker's CPU per task goes. Runs a raw BullMQ Worker on `queue.add()` jobs, then a BullMQ
 * Worker (klue's subclass) on klue's jobs with more and more of
 * klue's processor (jobs only, + envelope check, + the task in its context, + the rest of
 * processJob), then klue's worker itself, interleaved round by round, and prints the median
 * worker and Redis CPU per task of each. Differences of 2 µs or less are within the noise.
 */
import { Redis } from 'ioredis';
import { startRedis, stopAndClean } from '../test/helpers/redis.js';
import { median } from './lib/common.js';
import { drainQueued, type WorkerRun } from './lib/worker-run.js';

const [n = 30_000, concurrency = 10, rounds = 3] = process.argv.slice(2).map(Number);
const steps = ['raw', 'jobs-only', 'envelope', 'context', 'process-job', 'klue'] as const;
const redis = await startRedis();
process.env.REDIS_URL = redis.url;
const admin = new Redis(redis.url);
const redisPid = redis.process.pid ?? -1;
const seen: Record<string, WorkerRun[]> = {};
try {
  for (let r = 0; r < rounds; r++) {
    for (const step of steps) {
      await admin.flushall();
      const done = await drainQueued({ url: redis.url, pid: redisPid }, { variant: step, concurrency, n });
      (seen[step] ??= []).push(done);
      process.stdout.write(`  round ${r + 1} ${step}: ${done.tasksPerSec} tasks/s, worker ${done.cpuUsPerTask} µs/task\n`);
    }
  }
} finally {
  admin.disconnect();
  await stopAndClean(redis);
}
console.log(`\n${n.toLocaleString('en-US')} no-op tasks, concurrency ${concurrency}, ${rounds} rounds (medians)`);
let previous: number | undefined;
for (const step of steps) {
  const runs = seen[step] ?? [];
  const workerUs = median(runs.map((x) => x.cpuUsPerTask));
  const delta = previous === undefined ? '' : `  (${workerUs - previous >= 0 ? '+' : ''}${Math.round(workerUs - previous)})`;
  console.log(`  ${step.padEnd(12)} ${String(median(runs.map((x) => x.tasksPerSec))).padStart(7)} tasks/s  worker ${String(workerUs).padStart(4)} µs/task${delta}  redis ${median(runs.map((x) => x.redisCpuUsPerTask))} µs/task`);
  previous = workerUs;
}
