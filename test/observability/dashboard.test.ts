import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startWorker, type KlueWorker } from '../../src/tasks/run/worker.js';
import { generateToken } from '../../src/auth/jwt.js';
import { loadConfig } from '../../src/core/config/load-config.js';
import { runInContext } from '../../src/core/context/context.js';
import { addErrorReporter, type ErrorReport } from '../../src/core/errors/reporter.js';
import { rootLogger } from '../../src/core/log/logger.js';
import { startInProcess, type TestServer } from '../helpers/in-process.js';
import { copyService, helloworldDir, type ServiceDir } from '../helpers/service-dir.js';
import { waitFor } from '../helpers/wait.js';

let svc: ServiceDir;
let server: TestServer;
let worker: KlueWorker;
const reports: ErrorReport[] = [];
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

beforeAll(async () => {
  process.env.PYM_JWT_SECRET = 'dashboard-test-secret';
  process.env.KLUE_DASHBOARD_PASSWORD = 'correct horse battery';
  svc = copyService(helloworldDir, {
    env_secrets: ['PYM_JWT_SECRET', 'KLUE_DASHBOARD_PASSWORD'],
    async: {
      redis_url: inject('redisUrl'),
      queue: `dash-${randomUUID()}`,
      secret: 'dashboard-signing-secret-0123456789',
      dashboard: { basic_user: 'ops', basic_password: 'KLUE_DASHBOARD_PASSWORD' },
    },
  });
  server = await startInProcess(svc.dir);
  worker = await startWorker(await loadConfig({ dir: svc.dir }), {});
  addErrorReporter((_err, report) => {
    reports.push(report);
  });
});

afterAll(async () => {
  await worker?.close();
  await server?.close();
  svc?.cleanup();
});

describe('the dashboard', () => {
  it('is closed without credentials and asks browsers for basic auth', async () => {
    const res = await fetch(`${server.url}/admin/queues`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic/);
    expect((await fetch(`${server.url}/admin/queues/api/queues`)).status).toBe(401);
  });

  it('refuses a wrong password and a JWT without the admin claim', async () => {
    expect((await fetch(`${server.url}/admin/queues`, { headers: { authorization: basic('ops', 'nope') } })).status).toBe(403);
    const userToken = await generateToken({ userId: 'ann' });
    expect((await fetch(`${server.url}/admin/queues`, { headers: { authorization: `Bearer ${userToken}` } })).status).toBe(403);
  });

  it('opens with basic auth, with an admin JWT, and with the cookie from login', async () => {
    const page = await fetch(`${server.url}/admin/queues`, { headers: { authorization: basic('ops', 'correct horse battery') } });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);
    const admin = await generateToken({ userId: 'root', data: { admin: true } });
    expect((await fetch(`${server.url}/admin/queues/api/queues`, { headers: { authorization: `Bearer ${admin}` } })).status).toBe(200);
    const login = await fetch(`${server.url}/admin/queues/login?token=${admin}`, { redirect: 'manual' });
    expect(login.status).toBe(302);
    const cookie = login.headers.get('set-cookie')?.split(';')[0];
    expect(cookie).toMatch(/^klue_dashboard=/);
    expect((await fetch(`${server.url}/admin/queues/api/queues`, { headers: { cookie: cookie! } })).status).toBe(200);
  });

  it('retrying a failed task keeps the user context it was queued with, not the admin', async () => {
    const api = (await import(`${svc.dir}/helloworld/api.ts`)) as typeof import('../../examples/helloworld/helloworld/api.js');
    const handle = await runInContext(
      { ctx: { request: { id: 'req-dash-retry', method: 'GET', url: '/asyncdie' }, user: { sub: 'ann' }, token: 'ann-token' }, log: rootLogger() },
      () => api.failingTask('dashboard'),
    );
    await waitFor(() => reports.some((r) => r.task?.jobId === handle.id), 20_000, 'the first failure');
    const admin = await generateToken({ userId: 'root-admin', data: { admin: true } });
    const res = await fetch(`${server.url}/admin/queues/api/queues/${encodeURIComponent('{default}')}/${handle.id}/retry`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(res.status).toBe(204);
    await waitFor(() => reports.filter((r) => r.task?.jobId === handle.id).length === 2, 20_000, 'the retried run to fail');
    const runs = reports.filter((r) => r.task?.jobId === handle.id);
    expect(runs.map((r) => r.context.user?.sub)).toEqual(['ann', 'ann']);
    expect(runs[1]?.context.request?.id).toBe('req-dash-retry');
    // The task has the token (currentToken()); reporters never get it.
    expect(runs[1]?.context).not.toHaveProperty('token');
  });
});
