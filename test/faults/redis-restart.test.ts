import { afterAll, expect, it } from 'vitest';
import { faultService, isMsg, post, secondsSince, waitUntil, type FaultService } from '../helpers/fault-service.js';

const TASKS = 5000;
let f: FaultService | undefined;
afterAll(async () => f?.cleanup());

it('restart Redis (AOF on) in the middle of 5,000 tasks: none lost, workers resume without a klue restart', async () => {
  // A task taken from the queue at the instant Redis went away (the reply lost with the
  // connection) sits in 'active' until its lock expires and a stalled check frees it: that is
  // at most about two stalled intervals, kept short here.
  f = await faultService({ concurrency: 20, stalled_interval: 5000 });
  const { klue, url, servingPids } = await f.start([], 2);
  const workersBefore = servingPids().sort();
  const t0 = Date.now();
  expect((await post(`${url}/enqueue`, { start: 0, n: TASKS, ms: 20 })).body).toEqual({ queued: TASKS });
  await waitUntil(async () => (await f!.runs()).size >= TASKS / 3, 120_000, 'a third of the tasks to run');
  const before = (await f.runs()).size;
  await f.redis.restart(2000);
  const restartedAt = Date.now();

  await waitUntil(async () => (await f!.runs()).size === TASKS && (await f!.unfinished()) === 0, 180_000, 'every task to run after the restart');
  const runs = await f.runs();
  const duplicates = [...runs.values()].filter((n) => n > 1).length;
  const failed = await f.bull.getFailedCount();
  console.log(
    `[faults] redis-restart: tasks=${TASKS} done-before-restart=${before} completed=${runs.size} lost=${TASKS - runs.size} duplicates=${duplicates} failed=${failed} downtime=2.0s resumed-in=${secondsSince(restartedAt)}s seconds=${secondsSince(t0)} worker-restarts=${klue.lines.filter((l) => typeof l === 'object' && isMsg('async: worker exited')(l)).length}`,
  );
  expect(runs.size).toBe(TASKS);
  expect(failed).toBe(0);
  // The same server and the same worker processes carried on.
  expect(klue.child.exitCode).toBeNull();
  expect(servingPids().sort()).toEqual(workersBefore);
});
