import { randomUUID } from 'node:crypto';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startWorker, type KlueWorker } from '../../src/tasks/run/worker.js';
import { generateToken } from '../../src/auth/jwt.js';
import { loadConfig } from '../../src/core/config/load-config.js';
import { addErrorReporter, type ErrorReport } from '../../src/core/errors/reporter.js';
import { getJson, startInProcess, type TestServer } from '../helpers/in-process.js';
import { copyService, helloworldDir, repoRoot, type ServiceDir } from '../helpers/service-dir.js';
import { waitFor } from '../helpers/wait.js';

// A real headless Chromium (Debian's package, driven by playwright-core; no browser download).
const artifacts = join(repoRoot, 'test-artifacts');
let svc: ServiceDir;
let server: TestServer;
let worker: KlueWorker;
let browser: Browser;
const reports: ErrorReport[] = [];

beforeAll(async () => {
  process.env.PYM_JWT_SECRET = 'browser-test-secret';
  svc = copyService(helloworldDir, {
    async: { redis_url: inject('redisUrl'), queue: `browser-${randomUUID()}`, secret: 'browser-signing-secret-0123456789', dashboard: {} },
  });
  server = await startInProcess(svc.dir);
  worker = await startWorker(await loadConfig({ dir: svc.dir }), {});
  addErrorReporter((_err, report) => {
    reports.push(report);
  });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await worker?.close();
  await server?.close();
  svc?.cleanup();
});

describe('the dashboard in a browser', () => {
  it('signs in, finds the failed task of /asyncdie, retries it and saves a screenshot', async () => {
    const res = await getJson(`${server.url}/asyncdie`, { headers: { 'x-request-id': 'req-browser-die' } });
    expect(res.status).toBe(200);
    await waitFor(() => reports.some((r) => r.context.request?.id === 'req-browser-die'), 20_000, 'the task to fail');
    const jobId = reports.find((r) => r.context.request?.id === 'req-browser-die')!.task!.jobId;

    const page = await browser.newPage();
    const admin = await generateToken({ userId: 'ops-admin', data: { admin: true } });
    await page.goto(`${server.url}/admin/queues/login?token=${admin}`);
    expect(page.url()).toBe(`${server.url}/admin/queues`);
    await page.goto(`${server.url}/admin/queues/queue/${encodeURIComponent('{default}')}?status=failed`);
    await page.getByText('failingTask').first().waitFor({ timeout: 15_000 });
    await page.getByText('Task failed on purpose: asyncdie was called').first().waitFor();
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'dashboard-failed-task.png'), fullPage: true });

    // the job card's own retry button (an icon with a tooltip), not the queue's "Retry all"
    await page.locator('[data-base-ui-tooltip-trigger] button:has(svg.lucide-refresh-cw)').first().click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Confirm' }).click();
    await waitFor(() => reports.filter((r) => r.task?.jobId === jobId).length === 2, 20_000, 'the retried task to run again');
    // the retry ran as the request's (anonymous) context, not as the admin who clicked
    expect(reports.filter((r) => r.task?.jobId === jobId).map((r) => r.context.user?.sub)).toEqual([undefined, undefined]);
    await page.screenshot({ path: join(artifacts, 'dashboard-after-retry.png'), fullPage: true });
    expect(statSync(join(artifacts, 'dashboard-after-retry.png')).size).toBeGreaterThan(1000);
  });
});
