import { afterAll, expect, it } from 'vitest';
import { faultService, secondsSince, timedFetch, waitUntil, type FaultService } from '../helpers/fault-service.js';

const DOWN_MS = 10_000;
let f: FaultService | undefined;
afterAll(async () => f?.cleanup());

interface Sample {
  kind: 'async' | 'ping';
  id: number;
  /** ms since the load started */
  at: number;
  status: number;
  ms: number;
}

it('Redis down for 10 s under steady HTTP load: async endpoints 503 fast, /ping 200, everything recovers', async () => {
  f = await faultService({ stalled_interval: 5000 });
  const { klue, url, servingPids } = await f.start([], 1);
  const workerPid = servingPids()[0];
  const samples: Sample[] = [];
  const t0 = Date.now();
  let next = 0;
  let stop = false;
  // Four clients, each alternating an async request and a ping, ~20 requests/s in all.
  const clients = Array.from({ length: 4 }, async () => {
    while (!stop) {
      const id = next++;
      const at = Date.now() - t0;
      const a = await timedFetch(`${url}/async-one?id=${id}`);
      samples.push({ kind: 'async', id, at, status: a.status, ms: a.ms });
      const p = await timedFetch(`${url}/ping`);
      samples.push({ kind: 'ping', id, at: Date.now() - t0, status: p.status, ms: p.ms });
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  await new Promise((r) => setTimeout(r, 3000));
  const downAt = Date.now() - t0;
  await f.redis.stop();
  await new Promise((r) => setTimeout(r, DOWN_MS));
  const upAt = Date.now() - t0;
  await f.redis.restart();
  // Load goes on for 8 s after Redis is back, and until async requests have succeeded again for a while.
  await waitUntil(
    () => Date.now() - t0 > upAt + 8000 && samples.filter((s) => s.kind === 'async' && s.at > Date.now() - t0 - 3000 && s.status === 200).length >= 10,
    30_000,
    'async requests to succeed again',
  );
  stop = true;
  await Promise.all(clients);

  const asyncs = samples.filter((s) => s.kind === 'async');
  const pings = samples.filter((s) => s.kind === 'ping');
  // Requests sent while Redis was down for sure (a margin for the stop and the restart themselves).
  const during = asyncs.filter((s) => s.at > downAt + 500 && s.at + s.ms < upAt);
  const ok = asyncs.filter((s) => s.status === 200);
  const after = asyncs.filter((s) => s.at > upAt + 3000);
  await waitUntil(async () => {
    const runs = await f!.runs();
    return ok.every((s) => runs.has(String(s.id)));
  }, 60_000, 'every 2xx request to have its task run');
  const runs = await f.runs();
  const maxDuring = Math.max(...during.map((s) => s.ms));
  console.log(
    `[faults] redis-outage: requests=${samples.length} async=${asyncs.length} during-outage=${during.length} 503=${during.filter((s) => s.status === 503).length} max-503-ms=${maxDuring.toFixed(0)} ping=${pings.length} ping-non-200=${pings.filter((s) => s.status !== 200).length} async-2xx=${ok.length} 2xx-run=${ok.filter((s) => runs.has(String(s.id))).length} async-ok-after=${after.filter((s) => s.status === 200).length}/${after.length} seconds=${secondsSince(t0)}`,
  );
  expect(during.length).toBeGreaterThan(20);
  for (const s of during) {
    expect(s.status).toBe(503);
    expect(s.ms).toBeLessThan(2500);
  }
  for (const s of pings) expect(s.status).toBe(200);
  expect(after.length).toBeGreaterThan(0);
  for (const s of after) expect(s.status).toBe(200);
  expect(ok.filter((s) => !runs.has(String(s.id)))).toEqual([]);
  // No klue restart: the same server and worker carried on by themselves.
  expect(klue.child.exitCode).toBeNull();
  expect(servingPids()).toEqual([workerPid]);
});
