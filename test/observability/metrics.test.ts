import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { getJson } from '../helpers/in-process.js';
import { isMsg, spawnKlue, type KlueProcess } from '../helpers/klue-process.js';
import { freePort } from '../helpers/redis.js';
import { copyService, helloworldDir, type ServiceDir } from '../helpers/service-dir.js';
import { waitFor } from '../helpers/wait.js';

// `klue start` with its supervised worker process: the server's /metrics merges the worker's counters.
let svc: ServiceDir;
let klue: KlueProcess;
let url: string;

/** The value of one sample of a Prometheus text exposition, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have: Record<string, string | undefined> = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1] ?? '', l[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

beforeAll(async () => {
  svc = copyService(helloworldDir, {
    async: { redis_url: inject('redisUrl'), queue: `metrics-${randomUUID()}`, secret: 'metrics-signing-secret-0123456789' },
  });
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  klue = spawnKlue(['start', '--port', String(port), '--host', '127.0.0.1'], {
    cwd: svc.dir,
    env: { PYM_JWT_SECRET: 'metrics-secret' },
  });
  await klue.waitForLine((l) => l.msg === 'hello listening', 30_000, 'the server');
  await klue.waitForLine(isMsg('async: worker serving'), 30_000, 'the worker');
}, 60_000);

afterAll(async () => {
  await klue?.stop();
  svc?.cleanup();
});

describe('/metrics after a known run', () => {
  it('counts exactly what ran, in the server and in its worker process', async () => {
    const ok = 12;
    const failing = 3;
    for (let i = 0; i < ok; i++) expect((await getJson(`${url}/async`)).status).toBe(200);
    for (let i = 0; i < failing; i++) expect((await getJson(`${url}/asyncdie`)).status).toBe(200);
    const unmatched = 2;
    for (let i = 0; i < unmatched; i++) expect((await getJson(`${url}/no/such/route/${i}`)).status).toBe(404);
    expect((await getJson(`${url}/ping`)).status).toBe(200);

    let text = '';
    await waitFor(async () => {
      text = await (await fetch(`${url}/metrics`)).text();
      // The worker counts a failure just before BullMQ moves the job to the failed set: wait for both.
      return (
        sample(text, 'klue_tasks_completed_total', { task: 'writeCodeToFile' }) === ok &&
        sample(text, 'klue_tasks_failed_total', { task: 'failingTask' }) === failing &&
        sample(text, 'klue_queue_jobs', { queue: 'default', state: 'failed' }) === failing
      );
    }, 30_000, 'the worker to run every task');

    expect(sample(text, 'klue_tasks_enqueued_total', { task: 'writeCodeToFile', queue: 'default' })).toBe(ok);
    expect(sample(text, 'klue_tasks_enqueued_total', { task: 'failingTask', queue: 'default' })).toBe(failing);
    expect(sample(text, 'klue_task_duration_seconds_count', { task: 'writeCodeToFile', outcome: 'completed' })).toBe(ok);
    expect(sample(text, 'klue_http_request_duration_seconds_count', { method: 'GET', route: '/async', status: '200' })).toBe(ok);
    expect(sample(text, 'klue_http_request_duration_seconds_count', { method: 'GET', route: '/asyncdie', status: '200' })).toBe(failing);
    expect(sample(text, 'klue_http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status: '404' })).toBe(unmatched);
    expect(sample(text, 'klue_http_request_duration_seconds_count', { method: 'GET', route: '/ping', status: '200' })).toBe(1);
    expect(sample(text, 'klue_queue_jobs', { queue: 'default', state: 'failed' })).toBe(failing);
    expect(sample(text, 'klue_queue_jobs', { queue: 'default', state: 'waiting' })).toBe(0);
    expect(sample(text, 'klue_workers_up')).toBe(1);
    expect(sample(text, 'klue_worker_restarts_total')).toBe(0);
  });
});
