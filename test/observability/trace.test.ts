import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startWorker, type KlueWorker } from '../../src/tasks/run/worker.js';
import { loadConfig } from '../../src/core/config/load-config.js';
import { getJson, startInProcess, type TestServer } from '../helpers/in-process.js';
import { installMemoryTracing } from '../helpers/otel.js';
import { copyService, helloworldDir, type ServiceDir } from '../helpers/service-dir.js';
import { waitFor } from '../helpers/wait.js';

const exporter = installMemoryTracing();
let svc: ServiceDir;
let server: TestServer;
let worker: KlueWorker;

beforeAll(async () => {
  process.env.PYM_JWT_SECRET = 'trace-test-secret';
  svc = copyService(helloworldDir, {
    async: { redis_url: inject('redisUrl'), queue: `trace-${randomUUID()}`, secret: 'trace-signing-secret-0123456789abcd' },
  });
  const overrides = { uuid_file_path: join(svc.dir, 'uuid.txt') };
  server = await startInProcess(svc.dir, overrides);
  worker = await startWorker(await loadConfig({ dir: svc.dir, overrides }), {});
});

afterAll(async () => {
  await worker?.close();
  await server?.close();
  svc?.cleanup();
});

describe('tracing', () => {
  it('carries one trace id from the HTTP request to the task run in the worker', async () => {
    const traceId = 'a'.repeat(31) + '1';
    const callerSpan = 'b'.repeat(16);
    const res = await getJson(`${server.url}/async`, { headers: { traceparent: `00-${traceId}-${callerSpan}-01` } });
    expect(res.status).toBe(200);
    await waitFor(() => exporter.getFinishedSpans().some((s) => s.name === 'task writeCodeToFile'), 20_000, 'the task span');
    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    const request = spans.find((s) => s.name === 'GET /async');
    const task = spans.find((s) => s.name === 'task writeCodeToFile');
    expect(request?.parentSpanContext?.spanId).toBe(callerSpan);
    expect(task?.parentSpanContext?.spanId).toBe(request?.spanContext().spanId);
    expect(task?.attributes['klue.task']).toBe('writeCodeToFile');
  });
});
