import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAjv } from '../../src/spec/ajv.js';
import { buildModel, modelNameOf, registerModel } from '../../src/spec/models.js';
import { asynctask, PermanentError } from '../../src/tasks/index.js';
import { envelopeSigningKey } from '../../src/tasks/envelope/envelope-keys.js';
import { HmacSha256 } from '../../src/tasks/envelope/hmac.js';
import { hasPending, settlePending } from '../../src/tasks/caller/pending.js';
import { resolveSecret } from '../../src/tasks/secret.js';
import { currentRequest, currentTask, currentToken, currentUser, type KlueContext } from '../../src/core/context/context.js';
import { KlueError } from '../../src/core/errors/klue-error.js';
import { addErrorReporter, type ErrorReport } from '../../src/core/errors/reporter.js';
import { log } from '../../src/core/log/logger.js';
import { waitFor } from '../helpers/config.js';
import { inRequest, requestStore, startHarness, type Harness } from '../helpers/harness.js';
import { craftEnvelope } from '../helpers/envelopes.js';
import { failureOf } from '../helpers/failure.js';

registerModel('t.Code', createAjv().compile({ type: 'object', properties: { code: { type: 'string' } }, required: ['code'] }));

interface Seen {
  user: unknown;
  token: unknown;
  request: unknown;
  task: unknown;
  payload: unknown;
  bindings: Record<string, unknown>;
}
const seen = new Map<string, Seen>();
const runs = new Map<string, number>();
const countRun = (marker: string) => {
  const n = (runs.get(marker) ?? 0) + 1;
  runs.set(marker, n);
  return n;
};

const whoAmI = asynctask(async function itWhoAmI(marker: string, payload: unknown) {
  seen.set(marker, { user: currentUser(), token: currentToken(), request: currentRequest(), task: currentTask(), payload, bindings: log().bindings() });
  return { marker, at: new Date(0), code: buildModel('t.Code', { code: marker }) };
});
const flaky = asynctask({ name: 'itFlaky', attempts: 3 }, async (marker: string) => {
  const n = countRun(marker);
  if (n < 3) throw new Error(`not yet (${n})`);
  return n;
});
const permanent = asynctask(async function itPermanent(marker: string) {
  countRun(marker);
  throw new PermanentError('bad input');
});
const alwaysFails = asynctask({ name: 'itAlwaysFails', attempts: 2 }, async (marker: string) => {
  countRun(marker);
  throw new Error('boom');
});
const once = asynctask(async function itOnce(marker: string) {
  return countRun(marker);
});

const reports: { error: KlueError; report: ErrorReport }[] = [];
addErrorReporter((error, report) => {
  reports.push({ error, report });
});

const requestCtx = (id: string): KlueContext => ({
  user: { sub: `user-${id}`, scope: 'mail' },
  token: `token-${id}`,
  request: { id: `req-${id}`, method: 'POST', url: '/orders' },
});


/** The job once it failed for good, read after its state says so (a job read earlier may be stale). */
async function failedJob(h: Harness, id: string | undefined) {
  await waitFor(async () => (await h.rawQueue().getJobState(id ?? '')) === 'failed', 15_000, `job ${id} to fail`);
  return h.rawQueue().getJob(id ?? '');
}

describe('worker', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  it('runs a task queued in a request as its user, token and request, with models restored', async () => {
    const marker = randomUUID();
    const store = requestStore(requestCtx(marker));
    const code = buildModel('t.Code', { code: 'C1' });
    inRequest(store, () => {
      // No await: the response waits through settlePending, so nothing is lost.
      void whoAmI(marker, [code, { nested: { code } }]);
    });
    expect(store.pending.size).toBe(1);
    await settlePending(store);
    const s = await waitFor(() => seen.get(marker), 15_000, 'the task to run');
    expect(s.user).toEqual({ sub: `user-${marker}`, scope: 'mail' });
    expect(s.token).toBe(`token-${marker}`);
    expect(s.request).toEqual({ id: `req-${marker}`, method: 'POST', url: '/orders' });
    expect(s.task).toMatchObject({ name: 'itWhoAmI', attempt: 1 });
    const [first, second] = s.payload as [object, { nested: { code: object } }];
    expect(modelNameOf(first)).toBe('t.Code');
    expect(modelNameOf(second.nested.code)).toBe('t.Code');
    expect(second.nested.code).toEqual({ code: 'C1' });
    expect(s.bindings).toMatchObject({ req_id: `req-${marker}`, user_id: `user-${marker}`, task: 'itWhoAmI', attempt: 1 });
  });

  it('gives the decoded result through handle.result()', async () => {
    const marker = randomUUID();
    const handle = await inRequest(requestStore(requestCtx(marker)), () => whoAmI(marker, null));
    expect(handle).toMatchObject({ task: 'itWhoAmI', queue: 'default', duplicate: false });
    const result = await handle.result<{ marker: string; at: Date; code: object }>();
    expect(result.marker).toBe(marker);
    expect(result.at).toBeInstanceOf(Date);
    expect(modelNameOf(result.code)).toBe('t.Code');
    expect((seen.get(marker)?.task as { jobId: string }).jobId).toBe(handle.id);
  });

  it('retries a failing task until it succeeds', async () => {
    const marker = randomUUID();
    const handle = await flaky(marker);
    expect(await handle.result()).toBe(3);
    expect(runs.get(marker)).toBe(3);
  });

  it('does not retry a PermanentError and reports it', async () => {
    const marker = randomUUID();
    const handle = await inRequest(requestStore(requestCtx(marker)), () => permanent(marker));
    const err = await failureOf(handle.result());
    expect(err).toBeInstanceOf(KlueError);
    expect((err as KlueError).code).toBe('TASK_FAILED');
    expect((err as KlueError).message).toMatch(/bad input/);
    expect(runs.get(marker)).toBe(1);
    const job = await h.rawQueue().getJob(handle.id);
    expect(job?.attemptsMade).toBe(1);
    const r = await waitFor(() => reports.find((x) => x.report.task?.jobId === handle.id && x.report.task.name === 'itPermanent'));
    expect(r.report.task).toEqual({ name: 'itPermanent', jobId: handle.id, attempt: 1, attempts: 3 });
  });

  it('reports a task whose attempts are exhausted, with its request and user', async () => {
    const marker = randomUUID();
    const handle = await inRequest(requestStore(requestCtx(marker)), () => alwaysFails(marker));
    await failureOf(handle.result());
    expect(runs.get(marker)).toBe(2);
    const r = await waitFor(() => reports.find((x) => x.report.task?.jobId === handle.id && x.report.task.name === 'itAlwaysFails'));
    expect(r.report).toMatchObject({
      source: 'task',
      task: { name: 'itAlwaysFails', jobId: handle.id, attempt: 2, attempts: 2 },
      context: { request: { id: `req-${marker}` }, user: { sub: `user-${marker}` } },
    });
    expect(r.error.code).toBe('TASK_FAILED');
    expect(r.error.message).toBe('itAlwaysFails: boom');
    expect(reports.filter((x) => x.report.task?.jobId === handle.id && x.report.task.name === 'itAlwaysFails')).toHaveLength(1);
  });

  it('puts back an unknown task queued within unknown_task_grace, without using an attempt', async () => {
    const { data, opts } = craftEnvelope(h.config, { task: 'itNewerVersionTask', o: { a: 1 } });
    const job = await h.rawQueue().add('itNewerVersionTask', data, opts);
    const declined = async (after: number) =>
      waitFor(async () => {
        const j = await h.rawQueue().getJob(job.id ?? '');
        return j && (j.processedOn ?? 0) > after && (await j.getState()) === 'delayed' ? j : undefined;
      }, 10_000, 'the worker to put the job back');
    const first = await declined(0);
    // Offered again about 1 s later, and put back again: still no attempt used (with one
    // attempt, using it would have failed the job for good).
    const second = await declined(first.processedOn ?? 0);
    expect(second.attemptsMade).toBe(0);
    expect((second.processedOn ?? 0) - (first.processedOn ?? 0)).toBeGreaterThan(900);
    const { logs } = await h.rawQueue().getJobLogs(job.id ?? '');
    expect(logs.length).toBeGreaterThanOrEqual(2);
    for (const line of logs) expect(line).toMatch(/^UNKNOWN_TASK: no task named 'itNewerVersionTask' in this worker; put back for \d+ ms$/);
    expect(reports.some((x) => x.report.task?.name === 'itNewerVersionTask')).toBe(false);
    await second.remove();
  });

  it('past unknown_task_grace, retries an unknown task, then fails it with UNKNOWN_TASK', async () => {
    const at = Date.now() - h.config.async.unknown_task_grace - 1000;
    const { data, opts } = craftEnvelope(h.config, { task: 'itNobodyKnowsMe', at, o: { a: 2 } });
    const job = await h.rawQueue().add('itNobodyKnowsMe', data, { ...opts, backoff: { type: 'fixed', delay: 10 } });
    const failed = await failedJob(h, job.id);
    expect(failed?.attemptsMade).toBe(2);
    expect(failed?.failedReason).toMatch(/^UNKNOWN_TASK: no task named 'itNobodyKnowsMe'/);
    const r = await waitFor(() => reports.find((x) => x.report.task?.jobId === job.id && x.report.task?.name === 'itNobodyKnowsMe'));
    expect(r.error.code).toBe('UNKNOWN_TASK');
  });

  it('puts back a job whose envelope is newer than it reads, within unknown_task_grace, then fails it for good', async () => {
    // What a newer klue might write: this worker checks its signature but cannot read the rest, so cannot run it.
    const future = (at: number) => {
      const p = JSON.stringify({ task: 'itOnce', at });
      return JSON.parse(`{"v":4,"p":${p},"s":"${new HmacSha256(envelopeSigningKey(resolveSecret(h.config), 4)).hex(p)}"}`) as unknown;
    };
    const recent = await h.rawQueue().add('itOnce', future(Date.now()), { attempts: 1 });
    const put = await waitFor(async () => {
      const j = await h.rawQueue().getJob(recent.id ?? '');
      return j && (j.processedOn ?? 0) > 0 && (await j.getState()) === 'delayed' ? j : undefined;
    }, 10_000, 'the worker to put the job back');
    expect(put.attemptsMade).toBe(0);
    expect((await h.rawQueue().getJobLogs(put.id ?? '')).logs[0]).toMatch(/^UNKNOWN_TASK: envelope version 4 is newer than this worker reads; put back for \d+ ms$/);
    await put.remove();
    // Queued before the grace (by its signed time, not the job's): a newer worker should have
    // taken it by now, so it fails with the reason.
    const old = await h.rawQueue().add('itOnce', future(Date.now() - h.config.async.unknown_task_grace - 1000), { attempts: 3 });
    const failed = await failedJob(h, old.id);
    expect(failed?.attemptsMade).toBe(1);
    expect(failed?.failedReason).toBe('BAD_ENVELOPE: envelope version 4 is newer than this worker reads (3)');
  });

  it('does not hold an unsigned envelope that claims a newer version: it fails at once', async () => {
    const unsigned = { v: 4, p: { task: 'itOnce', at: Date.now() }, s: 'f'.repeat(64) };
    const job = await h.rawQueue().add('itOnce', unsigned, { attempts: 3 });
    const failed = await failedJob(h, job.id);
    expect(failed?.attemptsMade).toBe(1);
    expect(failed?.failedReason).toMatch(/^BAD_ENVELOPE: bad signature/);
  });

  it('fails a tampered envelope at once and keeps processing good tasks', async () => {
    const good = craftEnvelope(h.config, { task: 'itOnce', args: ['x'], ctx: { user: { sub: 'ann' } } });
    const tampered: unknown = JSON.parse(good.text.replace('"ann"', '"admin"'));
    const unsigned = { v: 3, p: (good.data as { p: unknown }).p };
    const bad1 = await h.rawQueue().add('itOnce', tampered, good.opts);
    const bad2 = await h.rawQueue().add('itOnce', unsigned, { attempts: 3 });
    for (const id of [bad1.id, bad2.id]) {
      const failed = await failedJob(h, id);
      expect(failed?.attemptsMade).toBe(1);
      expect(failed?.failedReason).toMatch(/^BAD_ENVELOPE: /);
    }
    const marker = randomUUID();
    expect(await (await once(marker)).result()).toBe(1);
    const r = await waitFor(() => reports.find((x) => x.report.task?.jobId === bad1.id && x.error.code === 'BAD_ENVELOPE'));
    expect(r.error.message).toMatch(/bad signature/);
  });

  it('makes calls with a jobId idempotent', async () => {
    const marker = randomUUID();
    const jobId = `order-${marker}`;
    const first = await once.with({ jobId })(marker);
    const second = await once.with({ jobId })(marker);
    expect(first).toMatchObject({ id: jobId, duplicate: false });
    expect(second).toMatchObject({ id: jobId, duplicate: true });
    expect(await second.result()).toBe(1);
    const third = await once.with({ jobId })(marker);
    expect(third.duplicate).toBe(true);
    // Calls in the same tick share one addBulk; exactly one of them is the original.
    const other = `batch-${marker}`;
    const both = await Promise.all([once.with({ jobId: other })(other), once.with({ jobId: other })(other)]);
    expect(both.map((x) => x.duplicate).sort()).toEqual([false, true]);
    await both[0].result();
    expect(runs.get(marker)).toBe(1);
    expect(runs.get(other)).toBe(1);
  });

  it('makes delayed calls with a jobId idempotent too (added through queue.addBulk)', async () => {
    const marker = randomUUID();
    const jobId = `later-${marker}`;
    // The first call's stored data must read back as exactly what it sent, or it would look like another job's.
    const first = await once.with({ jobId, delay: '20ms' })(marker);
    const second = await once.with({ jobId, delay: '20ms' })(marker);
    expect(first).toMatchObject({ id: jobId, duplicate: false });
    expect(second).toMatchObject({ id: jobId, duplicate: true });
    expect(await first.result()).toBe(1);
    expect(runs.get(marker)).toBe(1);
  });

  it('runs a delayed task as its user even after the token expired', async () => {
    const marker = randomUUID();
    const ctx: KlueContext = { ...requestCtx(marker), user: { sub: `user-${marker}`, exp: Math.floor(Date.now() / 1000) + 1 } };
    const handle = await inRequest(requestStore(ctx), () => whoAmI.with({ delay: '1500ms' })(marker, 'later'));
    await handle.result();
    const s = seen.get(marker);
    expect((s?.user as { exp: number }).exp * 1000).toBeLessThan(Date.now());
    expect(s?.user).toMatchObject({ sub: `user-${marker}` });
    expect(s?.token).toBe(`token-${marker}`);
  });

  it('rejects bad arguments at the call site, naming the task and path', async () => {
    const store = requestStore(requestCtx('bad'));
    inRequest(store, () => {
      void whoAmI('x', { when: { cache: new Map() } });
    });
    const err = await failureOf(settlePending(store));
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).message).toBe('itWhoAmI: args[1].when.cache is a Map; task arguments must be JSON values, Date or klue models');
  });

  it('leaves nothing for the response to wait on once a call was awaited, and leaves a failure the handler caught to it', async () => {
    const marker = randomUUID();
    const store = requestStore(requestCtx(marker));
    await inRequest(store, () => whoAmI(marker, 'awaited'));
    expect(store.pending.size).toBe(0);
    expect(hasPending(store)).toBe(false);

    const caught = requestStore(requestCtx('caught'));
    const err = await inRequest(caught, () => failureOf(whoAmI('x', new Map())));
    expect(err).toBeInstanceOf(TypeError);
    expect(caught.pending.size).toBe(0);
    expect(hasPending(caught)).toBe(false);
    await settlePending(caught);
  });

  it('remembers a failed call nobody awaited, and fails the request with it', async () => {
    const forgotten = requestStore(requestCtx('forgotten'));
    inRequest(forgotten, () => {
      void whoAmI('x', new Map());
    });
    const err = await failureOf(settlePending(forgotten));
    expect(err).toBeInstanceOf(TypeError);
    expect(forgotten.pending.size).toBe(0);
    expect(hasPending(forgotten)).toBe(true);
  });
});
