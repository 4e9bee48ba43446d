/**
 * `node --import tsx bench/worker-profile-diff.ts [tasks] [concurrency] [rounds] [variants...]`:
 * where a klue worker's time per task goes beside a raw BullMQ Worker's, in µs per task. Each
 * round drains `tasks` queued no-op tasks through each variant (default `raw klue`; any variant
 * of bench/children/worker.ts may be named, the first is the baseline) under V8's sampling
 * profiler, then the self time of every package and function is divided by the tasks and the
 * medians of the rounds are set side by side, the largest differences first.
 * A share of one profile says what a variant spends its time on; only µs per task of the same
 * drain say what a step from one variant to another adds, and where.
 * "busy" is all sampled time but V8's idle time, in which the worker waits on Redis.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startRedis, stopAndClean } from '../test/helpers/redis.js';
import { benchDir, median } from './lib/common.js';
import { perUnitDiff, selfTimes, type SelfTimes } from './lib/profile-summary.js';
import { drainQueued, type WorkerVariant } from './lib/worker-run.js';

const positional = process.argv.slice(2);
const [n = 50_000, concurrency = 10, rounds = 3] = positional.slice(0, 3).map(Number);
const [base = 'raw', other = 'klue'] = (positional.length > 3 ? positional.slice(3) : []) as WorkerVariant[];
const dir = join(benchDir, 'results');
mkdirSync(dir, { recursive: true });

const redis = await startRedis();
process.env.REDIS_URL = redis.url;
const runs: Record<'base' | 'other', SelfTimes[]> = { base: [], other: [] };
const cpu: Record<'base' | 'other', number[]> = { base: [], other: [] };
try {
  for (let r = 0; r < rounds; r++) {
    // Alternating which goes first, as the bench does, so a drift of the machine's speed falls on both.
    const order: ('base' | 'other')[] = r % 2 ? ['other', 'base'] : ['base', 'other'];
    for (const side of order) {
      const variant = side === 'base' ? base : other;
      const file = join(dir, `diff-${variant}-${r}-${Date.now()}.cpuprofile`);
      const done = await drainQueued({ url: redis.url, pid: redis.process.pid ?? -1 }, { variant, concurrency, n, profileTo: file });
      runs[side].push(selfTimes(file));
      cpu[side].push(done.cpuUsPerTask);
      rmSync(file);
      console.log(`  round ${r + 1} ${variant}: ${done.tasksPerSec} tasks/s, worker CPU ${done.cpuUsPerTask} µs/task`);
    }
  }
} finally {
  await stopAndClean(redis);
}

const busy = (side: 'base' | 'other') => median(runs[side].map((t) => t.busyUs / n));
console.log(`\n${base} → ${other}, c=${concurrency}, ${n.toLocaleString('en-US')} tasks x ${rounds} rounds (medians, µs per task)`);
console.log(`  busy (profiled): ${busy('base').toFixed(1)} → ${busy('other').toFixed(1)}; process CPU: ${median(cpu.base)} → ${median(cpu.other)}`);
const print = (title: string, pick: (t: SelfTimes) => Map<string, number>, limit: number) => {
  console.log(`\n  ${title}: ${base.padStart(7)} ${other.padStart(7)}    diff`);
  for (const row of perUnitDiff(runs.base.map(pick), runs.other.map(pick), n, limit)) {
    console.log(`  ${' '.repeat(title.length)}  ${row.a.toFixed(2).padStart(7)} ${row.b.toFixed(2).padStart(7)} ${`${row.diff >= 0 ? '+' : ''}${row.diff.toFixed(2)}`.padStart(7)}  ${row.key}`);
  }
};
print('by package', (t) => t.byPackage, 30);
print('by function', (t) => t.byFunction, 40);
