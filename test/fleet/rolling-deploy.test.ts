import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startAsync, stopAsync } from '../../src/tasks/transport/runtime.js';
import { loadConfig } from '../../src/core/config/load-config.js';
import { loadService } from '../../src/service/load-service.js';
import { isMsg, spawnKlue, type KlueProcess } from '../helpers/klue-process.js';
import { copyService, repoRoot, type ServiceDir } from '../helpers/service-dir.js';
import { waitFor } from '../helpers/wait.js';

// Two versions of one service share a queue during a rolling deploy: v2 adds a task v1 does not know.
let v1: ServiceDir;
let v2: ServiceDir;
let oldWorker: KlueProcess;
let newWorker: KlueProcess | undefined;
let redis: Redis;
let ns: string;

const NEW_TASK = `import { asynctask } from 'klue/async';
import { ledger } from './fleet.js';

/** Only version 2 of the service has this task; default attempts (3) and backoff (1 s). */
export const sendReceipt = asynctask(async function sendReceipt(id: number) {
  const { redis, runs } = ledger();
  await redis.hincrby(runs, 'receipt-' + id + '-pid-' + process.pid, 1);
});
`;

beforeAll(async () => {
  ns = `rolling-${randomUUID()}`;
  const async = { redis_url: inject('redisUrl'), queue: ns, secret: 'rolling-signing-secret-0123456789abcd' };
  v1 = copyService(`${repoRoot}/test/fixtures/fleet`, { async });
  v2 = copyService(`${repoRoot}/test/fixtures/fleet`, { async: { ...async, modules: ['handlers/receipts.ts'] } });
  writeFileSync(join(v2.dir, 'handlers', 'receipts.ts'), NEW_TASK);
  redis = new Redis(inject('redisUrl'));
  oldWorker = spawnKlue(['worker'], { cwd: v1.dir });
  await oldWorker.waitForLine(isMsg('async: worker serving'), 30_000, 'the v1 worker');
}, 60_000);

afterAll(async () => {
  await Promise.all([oldWorker?.stop(), newWorker?.stop()]);
  await stopAsync();
  redis?.disconnect();
  v1?.cleanup();
  v2?.cleanup();
});

describe('a rolling deploy', () => {
  it('keeps a task the old worker does not know until a new worker runs it', { timeout: 150_000 }, async () => {
    // v2's server side queues the new task while only the v1 worker is up.
    const config = await loadConfig({ dir: v2.dir });
    await loadService(config);
    await startAsync(config, 'server');
    const receipts = (await import(join(v2.dir, 'handlers', 'receipts.ts'))) as { sendReceipt: (id: number) => Promise<{ id: string }> };
    const handle = await receipts.sendReceipt(7);

    await oldWorker.waitForLine((l) => l.job_id === handle.id && /is not known to this worker/.test(String(l.msg)), 20_000, 'v1 to meet the unknown task');
    // v1 meets it again and again (about every second at first) without using an attempt: with
    // the default 3 attempts it would otherwise have failed for good within seconds.
    await new Promise((r) => setTimeout(r, 5000));
    const declines = oldWorker.lines.filter((l) => typeof l === 'object' && l.job_id === handle.id && /is not known/.test(String(l.msg)));
    expect(declines.length).toBeGreaterThanOrEqual(3);
    expect((await redis.hgetall(`fleet:{${ns}}:runs`))).toEqual({});
    expect(await redis.hlen(`fleet:{${ns}}:runs`)).toBe(0);

    newWorker = spawnKlue(['worker'], { cwd: v2.dir });
    await newWorker.waitForLine(isMsg('async: worker serving'), 30_000, 'the v2 worker');
    // The deploy retires the old worker. The task waits out its current delay (a quarter of its
    // age, at most 30 s) and then only the new worker can take it.
    expect(await oldWorker.stop()).toBe(0);
    await waitFor(async () => (await redis.hlen(`fleet:{${ns}}:runs`)) === 1, 60_000, 'the v2 worker to run the task');
    const [key, runs] = Object.entries(await redis.hgetall(`fleet:{${ns}}:runs`))[0]!;
    expect(key).toBe(`receipt-7-pid-${newWorker.child.pid}`);
    expect(runs).toBe('1');
    // the old worker only ever declined it, never ran it, and never failed it for good
    expect(oldWorker.lines.some((l) => typeof l === 'object' && l.job_id === handle.id && /failed for good/.test(String(l.msg)))).toBe(false);
  });
});
