import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { faultService, secondsSince, type FaultService } from '../helpers/fault-service.js';

let f: FaultService | undefined;
afterAll(async () => f?.cleanup());

it('workers that keep failing at start: klue start backs off, logs why and exits non-zero', async () => {
  f = await faultService({ modules: ['broken/*.ts'] });
  mkdirSync(join(f.svc.dir, 'broken'));
  // Only workers import async.modules: the server starts, every worker dies loading this.
  writeFileSync(join(f.svc.dir, 'broken', 'tasks.ts'), "throw new Error('the payments API key is missing');\n");
  const { klue } = await f.start([], 1, 0);
  expect(klue.child.exitCode).toBeNull();
  const t0 = Date.now();
  const code = await klue.exited;
  const lines = klue.lines.filter((l): l is Record<string, unknown> => typeof l === 'object');
  const restarts = lines.filter((l) => l.msg === 'async: worker exited; restarting it').map((l) => Number(l.restart_in_ms));
  const fatal = lines.find((l) => l.msg === 'workers keep failing; stopping klue');
  console.log(`[faults] crash-loop: exit=${code} restarts=${restarts.length} backoff-ms=${restarts.join('/')} seconds=${secondsSince(t0)} reason="${String(fatal?.reason).slice(0, 120)}..."`);
  expect(code).toBe(1);
  expect(restarts).toEqual([1000, 2000, 4000, 8000]);
  expect(String(fatal?.reason)).toMatch(/^worker 1 exited with code 1 5 times in a row/);
  expect(String(fatal?.reason)).toMatch(/the payments API key is missing/);
});
