/**
 * klue/testing's `testService`: a service loaded from its folder, requests through `inject`,
 * tokens for a user, and task calls run through the envelope round trip, at once or held.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { testService, type TestService } from '../../src/testing/index.js';
import { writeService } from '../helpers/service-dir.js';
import { waitFor } from '../helpers/wait.js';

const SPEC = `openapi: 3.1.0
info: { title: orders, version: '1' }
components:
  securitySchemes:
    bearer: { type: http, scheme: bearer }
paths:
  /me:
    get:
      x-bind-server: handlers#me
      security: [{ bearer: [] }]
      responses: { '200': { description: ok } }
  /orders:
    post:
      x-bind-server: handlers#order
      security: [{ bearer: [] }]
      requestBody:
        content:
          application/json:
            schema: { type: object, properties: { item: { type: string } }, required: [item] }
      responses: { '200': { description: ok } }
`;

const HANDLERS = `import { currentUser } from 'klue';
import { ship, refuse } from './tasks.js';
export async function me() { return { user: currentUser()?.sub }; }
export async function order({ body }: { body: { item: string } }) {
  const when = new Date('2026-01-02T03:04:05Z');
  const handle = body.item === 'nothing' ? await refuse(body.item) : await ship(body.item, when);
  return { job: handle.id };
}
`;

// Records what each run saw, so the test can tell a held call from one that ran.
const TASKS = `import { currentRequest, currentTask, currentUser } from 'klue';
import { asynctask, PermanentError } from 'klue/async';
export const seen: unknown[] = [];
(globalThis as Record<string, unknown>).testingSeen = seen;
export const ship = asynctask(async function ship(item: string, when: Date) {
  const run = { item, user: currentUser()?.sub, request: currentRequest()?.id, task: currentTask(), whenIsDate: when instanceof Date, when: when.toISOString() };
  seen.push(run);
  return run;
});
export const refuse = asynctask(async function refuse(item: string) {
  throw new PermanentError('cannot ship ' + item);
});
`;

const svc = writeService({
  'package.json': JSON.stringify({ name: 'orders', private: true, type: 'module' }),
  'klue-config.yaml': 'name: orders\nwith_async: true\njwt_secret: testing-entry-secret\n',
  'apis/orders.yaml': SPEC,
  'handlers.ts': HANDLERS,
  'tasks.ts': TASKS,
});
afterAll(() => svc.cleanup());

const seen = () => ((globalThis as Record<string, unknown>).testingSeen as unknown[] | undefined) ?? [];

describe('klue/testing', () => {
  let service: TestService | undefined;
  afterEach(async () => {
    await service?.close();
    service = undefined;
    seen().length = 0;
  });

  it('answers requests through inject, with tokens for a user', async () => {
    service = await testService({ dir: svc.dir });
    const anonymous = await service.inject({ method: 'GET', url: '/me' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json()).toMatchObject({ error: 'AUTHORIZATION_HEADER_MISSING' });
    expect((await service.inject({ method: 'GET', url: '/me', user: 'ann' })).json()).toEqual({ user: 'ann' });
    const token = await service.token('bob');
    expect((await service.inject({ method: 'GET', url: '/me', headers: { authorization: `Bearer ${token}` } })).json()).toEqual({ user: 'bob' });
  });

  it("holds task calls until the test drains them, then runs them decoded, in the caller's context", async () => {
    service = await testService({ dir: new URL(`file://${svc.dir}/`), tasks: 'held' });
    const res = await service.inject({ method: 'POST', url: '/orders', user: 'ann', headers: { 'x-request-id': 'req-held' }, payload: { item: 'tea' } });
    expect(res.statusCode).toBe(200);
    const { job } = res.json<{ job: string }>();
    expect(service.tasks.runs).toEqual([{ id: job, task: 'ship', queue: 'default', state: 'held' }]);
    // Event-loop turns and I/O pass (another request), and the held call still has not run.
    expect((await service.inject({ method: 'GET', url: '/me', user: 'ann' })).statusCode).toBe(200);
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen()).toEqual([]);

    await service.tasks.drain();
    const ran = { item: 'tea', user: 'ann', request: 'req-held', task: { name: 'ship', jobId: job, attempt: 1 }, whenIsDate: true, when: '2026-01-02T03:04:05.000Z' };
    expect(seen()).toEqual([ran]);
    expect(service.tasks.runs).toEqual([{ id: job, task: 'ship', queue: 'default', state: 'completed', result: ran }]);
  });

  it('runs task calls at once by default, and records a failed run', async () => {
    service = await testService({ dir: svc.dir });
    await service.inject({ method: 'POST', url: '/orders', user: 'ann', payload: { item: 'tea' } });
    // Started by the call itself, without a drain.
    await waitFor(() => seen().length === 1, 10_000, 'the task to run');
    await service.inject({ method: 'POST', url: '/orders', user: 'ann', payload: { item: 'nothing' } });
    await service.tasks.drain();
    expect(service.tasks.runs.map((r) => [r.task, r.state])).toEqual([
      ['ship', 'completed'],
      ['refuse', 'failed'],
    ]);
    expect(String(service.tasks.runs[1]?.error)).toMatch(/cannot ship nothing/);
    service.tasks.clear();
    expect(service.tasks.runs).toEqual([]);
  });
});
