import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { asynctask } from '../../src/tasks/index.js';
import { currentToken, currentUser } from '../../src/core/context/context.js';
import { addErrorReporter, type ErrorReport } from '../../src/core/errors/reporter.js';
import type { KlueError } from '../../src/core/errors/klue-error.js';
import { waitFor } from '../helpers/config.js';
import { craftEnvelope } from '../helpers/envelopes.js';
import { inRequest, requestStore, startHarness, type Harness } from '../helpers/harness.js';

// Someone who can write to the service's Redis (or use the dashboard's "add job") takes a
// signed envelope from one job and queues it again: it must never run a second time.

const runs = new Map<string, number>();
const seen = new Map<string, { user: unknown; token: unknown }>();
const replayable = asynctask({ name: 'replayCounted', attempts: 2 }, async (marker: string) => {
  runs.set(marker, (runs.get(marker) ?? 0) + 1);
  seen.set(marker, { user: currentUser(), token: currentToken() });
  return marker;
});
const failing = asynctask({ name: 'replayFailing', attempts: 1 }, async (marker: string) => {
  runs.set(marker, (runs.get(marker) ?? 0) + 1);
  throw new Error(`failing ${marker}`);
});

const reports: { error: KlueError; report: ErrorReport }[] = [];
const unreport = addErrorReporter((error, report) => {
  reports.push({ error, report });
});

let h: Harness;
let redis: Redis;

beforeAll(async () => {
  h = await startHarness();
  redis = new Redis(inject('redisUrl'));
});

afterAll(async () => {
  unreport();
  redis.disconnect();
  await h.stop();
});

async function finished(id: string | undefined): Promise<Job> {
  return waitFor(async () => {
    // The state first, then the job: a job read before it finished would be a stale copy.
    const state = await h.rawQueue().getJobState(id ?? '');
    return state === 'completed' || state === 'failed' ? h.rawQueue().getJob(id ?? '') : undefined;
  }, 10_000, `job ${id} to finish`);
}

/** The stored job data of a call, as anyone who reads Redis sees it. */
async function storedData(id: string): Promise<string> {
  return (await redis.hget(`${h.rawQueue().keys['']}${id}`, 'data')) ?? '';
}

/** Queues `marker` through the real task call, waits for it, and gives its job's stored data. */
async function ranOnce(marker: string): Promise<{ id: string; data: unknown; text: string }> {
  const handle = await replayable(marker);
  expect(await handle.result()).toBe(marker);
  const text = await storedData(handle.id);
  return { id: handle.id, data: JSON.parse(text) as unknown, text };
}

describe('a signed envelope is single-use and bound to its job', () => {
  it('uses the call id as job id, so the envelope can name its job', async () => {
    const marker = randomUUID();
    const { id, data } = await ranOnce(marker);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect((data as { p: { id: string } }).p.id).toBe(id);
  });

  it('refuses a copy of the envelope in a job with another id (BAD_ENVELOPE, failed at once, not retried)', async () => {
    const marker = randomUUID();
    const { data } = await ranOnce(marker);
    const copy = await h.rawQueue().add('replayCounted', data, { attempts: 2 });
    const failed = await finished(copy.id);
    expect(await failed.getState()).toBe('failed');
    expect(failed.attemptsMade).toBe(1);
    expect(failed.failedReason).toMatch(/^BAD_ENVELOPE: signed for job [\w-]+, found in job \d+ \(a copied envelope\)$/);
    expect(runs.get(marker)).toBe(1);
  });

  it('refuses the same job re-added after the first was deleted, with its options as signed or not', async () => {
    const marker = randomUUID();
    const { id, data } = await ranOnce(marker);
    await (await h.rawQueue().getJob(id))?.remove();
    const again = await h.rawQueue().add('replayCounted', data, { jobId: id, attempts: 2 });
    const failed = await finished(again.id);
    expect(failed.failedReason).toBe(`BAD_ENVELOPE: envelope ${id} already ran to its end (a replay)`);
    await failed.remove();
    const greedy = await h.rawQueue().add('replayCounted', data, { jobId: id, attempts: 1_000_000 });
    expect((await finished(greedy.id)).failedReason).toMatch(/^BAD_ENVELOPE: the job's options \(attempts 1000000, delay 0, priority 0\) differ from the signed ones/);
    expect(runs.get(marker)).toBe(1);
  });

  it('refuses an envelope that failed for good when it is queued again', async () => {
    const marker = randomUUID();
    const handle = await failing(marker);
    await expect(handle.result()).rejects.toMatchObject({ code: 'TASK_FAILED' });
    const data = JSON.parse(await storedData(handle.id)) as unknown;
    await (await h.rawQueue().getJob(handle.id))?.remove();
    const again = await h.rawQueue().add('replayFailing', data, { jobId: handle.id, attempts: 1 });
    expect((await finished(again.id)).failedReason).toMatch(/already ran to its end \(a replay\)$/);
    expect(runs.get(marker)).toBe(1);
  });

  it('refuses a job scheduler repeating the envelope, which it did not ask for', async () => {
    const marker = randomUUID();
    const { data } = await ranOnce(marker);
    const scheduler = `replay-${marker}`;
    await h.rawQueue().upsertJobScheduler(scheduler, { every: 200 }, { name: 'replayCounted', data, opts: { attempts: 2 } });
    const failures = await waitFor(async () => {
      const failed = (await h.rawQueue().getFailed()).filter((j) => j.repeatJobKey === scheduler);
      return failed.length >= 2 ? failed : undefined;
    }, 10_000, 'the scheduler to make two jobs');
    await h.rawQueue().removeJobScheduler(scheduler);
    for (const job of failures) expect(job.failedReason).toMatch(/^BAD_ENVELOPE: /);
    expect(runs.get(marker)).toBe(1);
  });

  it("refuses another service's envelope signed with the same secret", async () => {
    const marker = randomUUID();
    const { data, opts } = craftEnvelope(h.config, { task: 'replayCounted', args: [marker], svc: 'another-service', o: { a: 2 } });
    const job = await h.rawQueue().add('replayCounted', data, opts);
    expect((await finished(job.id)).failedReason).toBe(`BAD_ENVELOPE: signed for service 'another-service', taken by a worker of '${h.config.async.queue}'`);
    expect(runs.get(marker)).toBeUndefined();
  });

  it('refuses an envelope past its signed expiry with TASK_EXPIRED, without running or retrying it', async () => {
    const marker = randomUUID();
    const at = Date.now() - 8 * 86_400_000;
    const { data, opts } = craftEnvelope(h.config, { task: 'replayCounted', args: [marker], at, exp: at + h.config.async.max_task_age, o: { a: 2 } });
    const job = await h.rawQueue().add('replayCounted', data, opts);
    const failed = await finished(job.id);
    expect(failed.attemptsMade).toBe(1);
    expect(failed.failedReason).toMatch(/^TASK_EXPIRED: replayCounted: queued at .*, expired at .* \(async.max_task_age\); not run$/);
    expect(runs.get(marker)).toBeUndefined();
  });

  it('signs an expiry of enqueue time + delay + async.max_task_age', async () => {
    const handle = await replayable.with({ delay: '1h' })(randomUUID());
    const { p } = JSON.parse(await storedData(handle.id)) as { p: { at: number; exp: number; o: unknown } };
    expect(p.exp - p.at).toBe(3_600_000 + h.config.async.max_task_age);
    expect(p.o).toEqual({ a: 2, d: 3_600_000 });
    await (await h.rawQueue().getJob(handle.id))?.remove();
  });
});

describe('the bearer token at rest', () => {
  it('is encrypted in the job, given to the task, and never to reporters', async () => {
    const marker = randomUUID();
    const token = `eyJ.secret-token-${marker}`;
    const ctx = { request: { id: `req-${marker}`, method: 'POST', url: '/x' }, user: { sub: `user-${marker}` }, token };
    const handle = await inRequest(requestStore(ctx), () => replayable(marker));
    await handle.result();
    const stored = await storedData(handle.id);
    expect(stored).not.toContain(token);
    expect(stored).not.toContain(`secret-token-${marker}`);
    expect(stored).toMatch(/"tok":"[\w-]+"/);
    expect(seen.get(marker)).toEqual({ user: { sub: `user-${marker}` }, token });

    const failMarker = randomUUID();
    const failed = await inRequest(requestStore({ ...ctx, token: `${token}-2` }), () => failing(failMarker));
    await expect(failed.result()).rejects.toMatchObject({ code: 'TASK_FAILED' });
    const r = await waitFor(() => reports.find((x) => x.report.task?.jobId === failed.id));
    expect(r.report.context.user).toEqual({ sub: `user-${marker}` });
    expect(r.report.context).not.toHaveProperty('token');
    expect(JSON.stringify(r)).not.toContain('secret-token');
  });
});
