import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { postJson } from '../helpers/in-process.js';
import { isMsg, spawnKlue, type KlueProcess } from '../helpers/klue-process.js';
import { freePort } from '../helpers/redis.js';
import { copyService, repoRoot, type ServiceDir } from '../helpers/service-dir.js';
import { waitFor } from '../helpers/wait.js';

// One server (serving HTTP only) and three `klue worker` processes on one Redis.
const TASKS = 10_000;
let svc: ServiceDir;
let server: KlueProcess;
const workers: KlueProcess[] = [];
let redis: Redis;
let ns: string;

beforeAll(async () => {
  ns = `fleet-${randomUUID()}`;
  svc = copyService(`${repoRoot}/test/fixtures/fleet`, {
    async: { redis_url: inject('redisUrl'), queue: ns, secret: 'fleet-signing-secret-0123456789abcdef', concurrency: 20 },
  });
  redis = new Redis(inject('redisUrl'));
  const port = await freePort();
  server = spawnKlue(['start', '--port', String(port), '--host', '127.0.0.1', '--no-worker'], { cwd: svc.dir });
  await server.waitForLine((l) => l.msg === 'fleet listening', 30_000, 'the server');
  for (let i = 0; i < 3; i++) workers.push(spawnKlue(['worker'], { cwd: svc.dir }));
  await Promise.all(workers.map((w) => w.waitForLine(isMsg('async: worker serving'), 30_000, 'a worker')));
  (globalThis as { fleetUrl?: string }).fleetUrl = `http://127.0.0.1:${port}`;
}, 90_000);

afterAll(async () => {
  await Promise.all([server?.stop(), ...workers.map((w) => w.stop())]);
  redis?.disconnect();
  svc?.cleanup();
});

describe('a worker fleet', () => {
  it('spreads 10,000 tasks over three worker processes and loses none', async () => {
    const url = (globalThis as { fleetUrl?: string }).fleetUrl!;
    const started = Date.now();
    for (let start = 0; start < TASKS; start += 1000) {
      const res = await postJson(`${url}/batch`, { start, count: 1000 });
      expect(res.body).toEqual({ queued: 1000 });
    }
    await waitFor(async () => (await redis.hlen(`fleet:{${ns}}:runs`)) === TASKS, 120_000, 'every task to run');
    const runs = Object.values(await redis.hgetall(`fleet:{${ns}}:runs`)).map(Number);
    const byPid = await redis.hgetall(`fleet:{${ns}}:pids`);
    const workerPids = workers.map((w) => String(w.child.pid));
    const counts = workerPids.map((pid) => Number(byPid[pid] ?? 0));
    const duplicates = runs.filter((n) => n > 1).length;
    // The figures show only when it fails: a passing test prints nothing.
    const figures = `ran=${runs.length} duplicates=${duplicates} per-worker=${counts.join('/')} seconds=${((Date.now() - started) / 1000).toFixed(1)}`;
    expect(runs, figures).toHaveLength(TASKS);
    expect(Object.keys(byPid).sort()).toEqual([...workerPids].sort());
    for (const c of counts) expect(c, figures).toBeGreaterThan(0);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(runs.reduce((a, b) => a + b, 0));
  }, 180_000);
});
