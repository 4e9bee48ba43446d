import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createAjv } from '../../src/spec/ajv.js';
import { buildModel, modelNameOf, registerModel } from '../../src/spec/models.js';
import { asynctask, PermanentError } from '../../src/tasks/index.js';
import { settlePending } from '../../src/tasks/caller/pending.js';
import { startAsync, stopAsync } from '../../src/tasks/transport/runtime.js';
import { currentRequest, currentTask, currentUser } from '../../src/core/context/context.js';
import { KlueError } from '../../src/core/errors/klue-error.js';
import { testConfig } from '../helpers/config.js';
import { inRequest, requestStore } from '../helpers/harness.js';
import { failureOf } from '../helpers/failure.js';

registerModel('inline.Code', createAjv().compile({ type: 'object', properties: { code: { type: 'string' } }, required: ['code'] }));

const runs = new Map<string, number>();
const count = (m: string) => {
  const n = (runs.get(m) ?? 0) + 1;
  runs.set(m, n);
  return n;
};

const describeCall = asynctask(async function inlineDescribe(marker: string, when: Date, codes: object[]) {
  count(marker);
  return {
    user: currentUser()?.sub,
    request: currentRequest()?.id,
    task: currentTask(),
    whenIsDate: when instanceof Date,
    models: codes.map((c) => modelNameOf(c)),
    sameObject: codes[0] === sharedCode,
  };
});
const flaky = asynctask({ name: 'inlineFlaky', attempts: 3 }, async (marker: string) => {
  if (count(marker) < 3) throw new Error('again');
  return 'done';
});
const permanent = asynctask(async function inlinePermanent(marker: string) {
  count(marker);
  throw new PermanentError('never');
});

const mapResult = asynctask({ name: 'inlineMapResult', attempts: 3 }, async (marker: string) => {
  count(marker);
  return new Map([['a', 1]]);
});

const sharedCode = buildModel('inline.Code', { code: 'x' });

describe('inline mode', () => {
  afterEach(async () => {
    await stopAsync();
  });

  it('runs calls in-process after a full envelope round trip, in the caller context', async () => {
    const config = await testConfig({ mode: 'inline' });
    await startAsync(config, 'server');
    const marker = randomUUID();
    const store = requestStore({ user: { sub: 'ann' }, request: { id: 'req-inline', method: 'GET', url: '/' } });
    const handle = await inRequest(store, () => describeCall(marker, new Date(), [sharedCode, { nested: sharedCode }]));
    // Detached from the request: queued, not yet run, when the call resolves.
    expect(runs.get(marker)).toBeUndefined();
    await settlePending(store);
    expect(await handle.result()).toEqual({
      user: 'ann',
      request: 'req-inline',
      task: { name: 'inlineDescribe', jobId: handle.id, attempt: 1 },
      whenIsDate: true,
      models: ['inline.Code', undefined],
      sameObject: false,
    });
  });

  it('honours attempts without waiting and does not retry PermanentError', async () => {
    const config = await testConfig({ mode: 'inline', backoff: 60_000 });
    await startAsync(config, 'server');
    const a = randomUUID();
    expect(await (await flaky(a)).result()).toBe('done');
    expect(runs.get(a)).toBe(3);
    const b = randomUUID();
    const handle = await permanent(b);
    const caught = await failureOf(handle.result());
    expect((caught as KlueError).code).toBe('TASK_FAILED');
    expect(runs.get(b)).toBe(1);
  });

  it('fails a run whose result a queue could not carry for good, without running it again', async () => {
    const config = await testConfig({ mode: 'inline' });
    await startAsync(config, 'server');
    const marker = randomUUID();
    const caught = await failureOf((await mapResult(marker)).result());
    expect((caught as KlueError).code).toBe('TASK_FAILED');
    expect((caught as KlueError).message).toMatch(/failed: inlineMapResult: result is a Map; task results must be JSON values, Date or klue models$/);
    expect(runs.get(marker)).toBe(1);
  });

  it('treats a repeated jobId as a duplicate', async () => {
    const config = await testConfig({ mode: 'inline' });
    await startAsync(config, 'server');
    const marker = randomUUID();
    const first = await describeCall.with({ jobId: `j-${marker}` })(marker, new Date(), []);
    const second = await describeCall.with({ jobId: `j-${marker}` })(marker, new Date(), []);
    expect([first.duplicate, second.duplicate]).toEqual([false, true]);
    await second.result();
    await stopAsync();
    expect(runs.get(marker)).toBe(1);
  });

  it('refuses calls once stopped instead of running them in-process', async () => {
    const config = await testConfig({ mode: 'inline' });
    await startAsync(config, 'server');
    await stopAsync();
    let caught: unknown;
    try {
      await describeCall('late', new Date(), []);
    } catch (err) {
      caught = err;
    }
    expect((caught as KlueError).code).toBe('ASYNC_UNAVAILABLE');
    expect(runs.get('late')).toBeUndefined();
  });

  it('still rejects arguments a queue could not carry', async () => {
    const config = await testConfig({ mode: 'inline' });
    await startAsync(config, 'server');
    await expect(describeCall('m', new Date(), [new Set()])).rejects.toThrow('inlineDescribe: args[2][0] is a Set');
  });
});
