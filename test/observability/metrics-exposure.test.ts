import { waitFor } from '../helpers/wait.js';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { metrics } from '../../src/telemetry/metrics.js';
import { addMetricsSource, MetricsScraper, QueueGauges } from '../../src/http/metrics-endpoint.js';
import { loadConfig } from '../../src/core/config/load-config.js';
import { QueueAdmin } from '../../src/tasks/transport/queue-admin.js';
import { getJson, startInProcess, type TestServer } from '../helpers/in-process.js';
import { freePort, startRedis, stopAndClean, type PrivateRedis } from '../helpers/redis.js';
import { copyService, helloworldDir, writeService, type ServiceDir } from '../helpers/service-dir.js';

// Who may read /metrics, and what a storm of scrapes costs Redis.
const TOKEN = 'metrics-exposure-token-0123456789';
/** A line of klue's Prometheus exposition. */
const EXPOSITION = /^# TYPE klue_http_request_duration_seconds histogram$/m;

/** A service with one operation and no tasks: its /metrics needs no Redis. */
function plainService(): ServiceDir {
  return writeService({
    'klue-config.yaml': 'name: mx\n',
    'apis/api.yaml': "swagger: '2.0'\ninfo: { title: mx, version: '1' }\npaths:\n  /hi:\n    get:\n      x-bind-server: handlers#hi\n      responses:\n        '200': { description: ok }\n",
    'handlers.mjs': 'export async function hi() { return {}; }\n',
  });
}

/** Serves `svc` in this process as `--env production` would. */
async function startProduction(svc: ServiceDir, overrides: Record<string, unknown> = {}): Promise<TestServer> {
  process.env.KLUE_ENV = 'production';
  try {
    return await startInProcess(svc.dir, overrides);
  } finally {
    delete process.env.KLUE_ENV;
  }
}

describe('who may read /metrics', () => {
  let svc: ServiceDir;
  const servers: TestServer[] = [];
  beforeAll(() => {
    svc = plainService();
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  afterAll(() => svc?.cleanup());

  it('outside production: the main port serves it, as before', async () => {
    const server = await startInProcess(svc.dir);
    servers.push(server);
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(EXPOSITION);
  });

  it('in production: the main port answers 404 without metrics_token', async () => {
    const server = await startProduction(svc);
    servers.push(server);
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: 'ROUTE_NOT_FOUND' });
    expect((await fetch(`${server.url}/hi`)).status).toBe(200);
  });

  it('with metrics_token: only a scrape with that bearer token gets the metrics (401 otherwise)', async () => {
    const server = await startProduction(svc, { metrics_token: TOKEN });
    servers.push(server);
    expect((await getJson(`${server.url}/metrics`)).body.error).toBe('AUTHORIZATION_HEADER_MISSING');
    for (const authorization of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`, `Basic ${TOKEN}`]) {
      const res = await getJson(`${server.url}/metrics`, { headers: { authorization } });
      expect(res.status, authorization).toBe(401);
      expect(res.body.error).toBe('TOKEN_INVALID');
    }
    for (const scheme of ['Bearer', 'bearer']) {
      const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `${scheme} ${TOKEN}` } });
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(EXPOSITION);
    }
  });

  it('with metrics_port: served on that port only, in production too, with the token when one is set', async () => {
    const port = await freePort();
    const server = await startProduction(svc, { metrics_port: port });
    servers.push(server);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(EXPOSITION);
    expect((await getJson(`http://127.0.0.1:${port}/hi`)).body.error).toBe('ROUTE_NOT_FOUND');
    await server.close();
    servers.length = 0;
    // closed with the server
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();

    const guarded = await startInProcess(svc.dir, { metrics_port: port, metrics_token: TOKEN });
    servers.push(guarded);
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(401);
    expect((await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  });
});

describe('a storm of scrapes', () => {
  let redis: PrivateRedis;
  let probe: Redis;
  let svc: ServiceDir;
  let server: TestServer;

  beforeAll(async () => {
    process.env.PYM_JWT_SECRET = 'metrics-exposure-secret';
    redis = await startRedis();
    probe = new Redis(redis.url);
    svc = copyService(helloworldDir, {
      // A period longer than the test: every scrape below falls in the first one.
      metrics_queue_max_age: 600_000,
      async: { redis_url: redis.url, queue: `storm-${randomUUID()}`, secret: 'metrics-storm-signing-secret-0123' },
    });
    server = await startInProcess(svc.dir);
  });

  afterAll(async () => {
    await server?.close();
    probe?.disconnect();
    if (redis) await stopAndClean(redis);
    svc?.cleanup();
  });

  /** Calls of one Redis command since the last CONFIG RESETSTAT. */
  async function calls(command: string): Promise<number> {
    const info = await probe.info('commandstats');
    return Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  }

  it('reads the queue depths from Redis once per period, however many scrapes come at once', async () => {
    await probe.config('RESETSTAT');
    const scrapes = await Promise.all(Array.from({ length: 40 }, () => fetch(`${server.url}/metrics`).then(async (r) => ({ status: r.status, text: await r.text() }))));
    expect(scrapes.every((s) => s.status === 200)).toBe(true);
    // A scrape waits for the depths only so long (a loaded machine may pass it): the read that
    // began lands in the gauges all the same.
    const gauge = /^klue_queue_jobs\{queue="default",state="waiting"\} 0$/m;
    await waitFor(async () => gauge.test(await (await fetch(`${server.url}/metrics`)).text()), 20_000, 'the queue depths in a scrape');
    // Each read of the depths lists the service's queues with one SCAN: one read for 41+ scrapes.
    expect(await calls('scan')).toBe(1);
    const again = await Promise.all(Array.from({ length: 10 }, () => fetch(`${server.url}/metrics`)));
    expect(again.every((r) => r.status === 200)).toBe(true);
    expect(await calls('scan')).toBe(1);
  });

  it('renders once for the scrapes that arrive while a render is under way', async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let sourceCalls = 0;
    // A supervised worker that takes its time to answer.
    const remove = addMetricsSource(async () => {
      sourceCalls++;
      await gate;
      return [];
    });
    const render = vi.spyOn(metrics().registry, 'metrics');
    try {
      const scraper = new MetricsScraper();
      const bodies = Array.from({ length: 20 }, () => scraper.render());
      release();
      const texts = await Promise.all(bodies);
      expect(sourceCalls).toBe(1);
      expect(render).toHaveBeenCalledTimes(1);
      expect(new Set(texts).size).toBe(1);
      // Once it is done, the next scrape renders anew.
      await scraper.render();
      expect(sourceCalls).toBe(2);
    } finally {
      render.mockRestore();
      remove();
    }
  });
});

describe('a read of the queue depths that fails', () => {
  it('does not count as a read: the next scrape reads once Redis answers', async () => {
    process.env.PYM_JWT_SECRET = 'metrics-exposure-secret';
    const redis = await startRedis();
    const svc = copyService(helloworldDir, { async: { redis_url: redis.url, queue: `failed-read-${randomUUID()}`, secret: 'metrics-failed-read-secret-0123' } });
    // Redis is away when the first scrape comes (a server just started, or a blip): the /metrics
    // connection fails fast rather than queueing the read.
    await redis.stop();
    const admin = new QueueAdmin(await loadConfig({ dir: svc.dir }), 'producer');
    try {
      metrics().queueJobs.reset();
      // A period longer than the test: without a retry the gauges would stay empty through it.
      const gauges = new QueueGauges(admin, 600_000);
      await gauges.refresh();
      expect(await metrics().registry.getSingleMetricAsString('klue_queue_jobs')).not.toMatch(/state="waiting"/);
      await redis.restart();
      const gauge = /^klue_queue_jobs\{queue="default",state="waiting"\} 0$/m;
      await waitFor(async () => {
        await gauges.refresh();
        return gauge.test(await metrics().registry.getSingleMetricAsString('klue_queue_jobs'));
      }, 20_000, 'the queue depths once Redis answers');
    } finally {
      await admin.close();
      await stopAndClean(redis);
      svc.cleanup();
    }
  });
});
