/**
 * The run ledger inside BullMQ's scripts (src/tasks/transport/ledger-scripts.ts): the installed
 * BullMQ still has the anchors klue's Lua goes in, a worker's runs are counted and closed by its
 * scripts, and what the scripts say is believed only of data they read the same envelope from.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { asynctask } from '../../src/tasks/index.js';
import { sealEnvelope, type TaskPayload } from '../../src/tasks/envelope/envelope.js';
import { resolveSecret } from '../../src/tasks/secret.js';
import { CLAIM_FIELD, ledgerScripts } from '../../src/tasks/transport/ledger-scripts.js';
import { BUCKET_MS, CLOCK_MARGIN_MS, FINISHED_MARK } from '../../src/tasks/transport/run-ledger.js';
import { waitFor } from '../helpers/config.js';
import { craftEnvelope } from '../helpers/envelopes.js';
import { startHarness, type Harness } from '../helpers/harness.js';

const runs = new Map<string, number>();
const counted = asynctask({ name: 'ledgerScriptCounted', attempts: 1 }, async (marker: string) => {
  runs.set(marker, (runs.get(marker) ?? 0) + 1);
  return marker;
});

let h: Harness;
let redis: Redis;
beforeAll(async () => {
  h = await startHarness();
  redis = new Redis(inject('redisUrl'));
});
afterAll(async () => {
  redis.disconnect();
  await h.stop();
});

/** The ledger's hash field of an envelope, as the worker reads it. */
function ledgerField(id: string, exp: number): Promise<string | null> {
  const bucket = Math.floor((exp + CLOCK_MARGIN_MS) / BUCKET_MS) + 1;
  return redis.hget(`${h.rawQueue().keys['']}runs:${bucket}`, id);
}

async function finishedState(id: string): Promise<string> {
  return waitFor(async () => {
    const state = await h.rawQueue().getJobState(id);
    return state === 'completed' || state === 'failed' ? state : undefined;
  }, 10_000, `job ${id} to finish`);
}

describe("the run ledger in BullMQ's scripts", () => {
  it("finds its anchors in the installed BullMQ's moveToActive and moveToFinished: an upgrade that moves them fails here", async () => {
    const bullmq = JSON.parse(readFileSync(join(dirname(createRequire(import.meta.url).resolve('bullmq/package.json')), 'package.json'), 'utf8')) as { version: string };
    const scripts = await ledgerScripts();
    expect(scripts, typeof scripts === 'string' ? scripts : '').toEqual([
      expect.objectContaining({ command: `moveToActive:${bullmq.version}` }),
      expect.objectContaining({ command: `moveToFinished:${bullmq.version}` }),
    ]);
    if (typeof scripts === 'string') return;
    expect(scripts[0]!.lua.match(/^\s*klueClaim\(/gm)).toHaveLength(1);
    expect(scripts[1]!.lua.match(/^\s*klueClaim\(/gm)).toHaveLength(1);
    expect(scripts[1]!.lua.match(/^\s*klueFinish\(/gm)).toHaveLength(1);
  });

  it('counts a run as the job is handed out and records its envelope finished with its completion', async () => {
    const marker = randomUUID();
    const handle = await counted(marker);
    expect(await handle.result()).toBe(marker);
    const jobKey = `${h.rawQueue().keys['']}${handle.id}`;
    const payload = (JSON.parse((await redis.hget(jobKey, 'data')) ?? '{}') as { p: TaskPayload }).p;
    expect(await redis.hget(jobKey, CLAIM_FIELD)).toBe('1');
    expect(await ledgerField(payload.id, payload.exp)).toBe(String(FINISHED_MARK));
  });

  it('refuses a re-added copy of a finished envelope, counted by the script', async () => {
    const { data, opts } = craftEnvelope(h.config, { task: 'ledgerScriptCounted', args: ['copy'], o: { a: 1 } });
    const first = await h.rawQueue().add('ledgerScriptCounted', data, opts);
    expect(await finishedState(first.id ?? '')).toBe('completed');
    await first.remove();
    const again = await h.rawQueue().add('ledgerScriptCounted', data, opts);
    expect(await finishedState(again.id ?? '')).toBe('failed');
    expect((await h.rawQueue().getJob(again.id ?? ''))?.failedReason).toContain('already ran to its end');
    expect(runs.get('copy')).toBe(1);
  });

  it('does not believe a count in a job the scripts could not read: the worker claims it itself', async () => {
    // Signed, but its payload's fields in another order than klue writes: the scripts cannot read its head.
    const at = Date.now();
    const payload = { svc: h.config.async.queue, q: 'default', task: 'ledgerScriptCounted', args: ['odd'], ctx: {}, at, exp: at + 120_000, id: randomUUID(), o: { a: 1, d: 60_000 } } as TaskPayload;
    const text = sealEnvelope(payload, resolveSecret(h.config), h.config.async.max_payload);
    // Its envelope already finished; a forged count in the job says "first run".
    const bucket = Math.floor((payload.exp + CLOCK_MARGIN_MS) / BUCKET_MS) + 1;
    await redis.hset(`${h.rawQueue().keys['']}runs:${bucket}`, payload.id, FINISHED_MARK);
    const job = await h.rawQueue().add('ledgerScriptCounted', JSON.parse(text) as unknown, { jobId: payload.id, attempts: 1, delay: 60_000 });
    await redis.hset(`${h.rawQueue().keys['']}${payload.id}`, CLAIM_FIELD, '1');
    await job.promote();
    expect(await finishedState(payload.id)).toBe('failed');
    expect((await h.rawQueue().getJob(payload.id))?.failedReason).toContain('already ran to its end');
    expect(runs.get('odd')).toBeUndefined();
  });
});
