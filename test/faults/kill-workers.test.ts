import { afterAll, expect, it } from 'vitest';
import { alive, childPids, faultService, post, secondsSince, waitUntil, type FaultService } from '../helpers/fault-service.js';

const TASKS = 5000;
let f: FaultService | undefined;
afterAll(async () => f?.cleanup());

it('SIGKILL a worker every ~2 s while 5,000 tasks run: every task completes (at-least-once)', async () => {
  // A short stall interval so killed workers' tasks are taken over within seconds; a kill every
  // 2 s can hit a task's second run too, so it may lose its worker a few times.
  f = await faultService({ stalled_interval: 2000, max_stalled: 10, concurrency: 20 });
  const { klue, url } = await f.start([], 2);
  const t0 = Date.now();
  // 150 ms per task at 2 × 20 slots: the run lasts ~20 s, long enough for a kill every 2 s.
  expect((await post(`${url}/enqueue`, { start: 0, n: TASKS, ms: 150 })).body).toEqual({ queued: TASKS });

  let kills = 0;
  let done = false;
  const killer = (async () => {
    while (!done) {
      await new Promise((r) => setTimeout(r, 2000));
      if (done) break;
      const workers = childPids(klue.child.pid ?? -1);
      const victim = workers[kills % Math.max(workers.length, 1)];
      if (victim !== undefined && alive(victim)) {
        process.kill(victim, 'SIGKILL');
        kills++;
      }
    }
  })();
  try {
    await waitUntil(async () => (await f!.runs()).size === TASKS && (await f!.unfinished()) === 0, 200_000, 'every task to run');
  } finally {
    done = true;
    await killer;
  }
  const runs = await f.runs();
  const duplicates = [...runs.values()].filter((n) => n > 1).length;
  const failed = await f.bull.getFailedCount();
  // Completed jobs are trimmed to async.keep_completed (100 by default): Redis memory stays bounded.
  const kept = await f.bull.getCompletedCount();
  console.log(`[faults] kill-workers: tasks=${TASKS} completed=${runs.size} lost=${TASKS - runs.size} duplicates=${duplicates} failed=${failed} kills=${kills} completed-kept-in-redis=${kept} seconds=${secondsSince(t0)}`);
  expect(kept).toBeLessThanOrEqual(100);
  expect(kills).toBeGreaterThanOrEqual(5);
  expect(runs.size).toBe(TASKS);
  expect(failed).toBe(0);
  // The server itself never went down: the supervisor replaced every killed worker.
  expect(klue.child.exitCode).toBeNull();
  expect(klue.lines.filter((l) => typeof l === 'object' && l.msg === 'async: giving up restarting workers')).toEqual([]);
});
