import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeClientPools } from '../../src/client/pool.js';
import { RemoteError } from '../../src/client/remote-error.js';
import { loadConfig } from '../../src/core/config/load-config.js';
import { runInContext, type KlueContext } from '../../src/core/context/context.js';
import { createRootLogger, rootLogger } from '../../src/core/log/logger.js';
import { KlueError } from '../../src/core/errors/klue-error.js';
import { loadService } from '../../src/service/load-service.js';
import { ApiPool, type ClientMethod } from '../../src/spec/api-pool.js';
import { modelNameOf } from '../../src/spec/models.js';
import { metrics } from '../../src/telemetry/metrics.js';
import { writeService, type ServiceDir } from '../helpers/service-dir.js';
import { installMemoryTracing } from '../helpers/otel.js';
import { json, startStub, type StubServer } from './stub-server.js';

// A client against a third-party-style spec (OpenAPI 3, bearer security on one operation),
// served by a stub HTTP server in this process.
let stub: StubServer;
let svc: ServiceDir;
let client: Record<string, ClientMethod>;
const spans = installMemoryTracing();

beforeAll(async () => {
  // The client logs each failed call; a passing test prints nothing.
  createRootLogger({}, { level: 'silent' });
  stub = await startStub();
  svc = writeService({
    'klue-config.yaml': `name: caller\nclients:\n  stub:\n    url: ${stub.url}/v2\n    retry_backoff: 1\n    max_response_size: 2000\n`,
    'apis/stub.yaml': readFileSync(join(import.meta.dirname, 'stub-api.yaml'), 'utf8'),
  });
  await loadService(await loadConfig({ dir: svc.dir }), { http: false });
  client = ApiPool.stub!.client;
});

afterAll(async () => {
  await closeClientPools();
  await stub?.close();
  svc?.cleanup();
});

beforeEach(() => {
  stub.requests.length = 0;
});

const item = { id: 'i-1', tags: ['a'] };

/** Runs `fn` as a request of user ann would. */
function asRequest<T>(fn: () => Promise<T>, ctx: KlueContext = { user: { sub: 'ann' }, token: 'ann-token', request: { id: 'req-42', method: 'GET', url: '/x' } }): Promise<T> {
  return runInContext({ ctx, log: rootLogger().child({}) }, fn);
}

async function failure(call: Promise<unknown>): Promise<KlueError> {
  const err = await call.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(KlueError);
  return err as KlueError;
}

describe('a client of a third-party API', () => {
  it('a client-only spec needs no x-bind-server, and its operations are named by x-bind-client, operationId', () => {
    expect(Object.keys(client).sort()).toEqual(['createItem', 'flakyGet', 'flakyPost', 'getItem', 'listItems', 'public', 'whoami']);
  });

  it('sends path, query (arrays as repeated keys) under the URL path, and returns the body as a model', async () => {
    stub.handle = (_req, res) => json(res, 200, { id: 'a/b', tags: ['x', 'y'] });
    const got = await client.getItem!({ path: { id: 'a/b' }, query: { tag: ['x', 'y'], limit: 2 } });
    expect(stub.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /v2/items/a%2Fb?tag=x&tag=y&limit=2']);
    expect(got).toEqual({ id: 'a/b', tags: ['x', 'y'] });
    expect(modelNameOf(got)).toBe('stub.Item');
  });

  it('takes the body alone for a body-only operation, and makes each item of an array a model', async () => {
    stub.handle = (req, res) => json(res, 201, JSON.parse(req.body));
    expect(await client.createItem!(item)).toEqual(item);
    expect(stub.requests[0]).toMatchObject({ method: 'POST', url: '/v2/items', body: JSON.stringify(item) });
    expect(stub.requests[0]?.headers['content-type']).toBe('application/json');
    stub.handle = (_req, res) => json(res, 200, [item, item]);
    const list = (await client.listItems!()) as unknown[];
    expect(list.map(modelNameOf)).toEqual(['stub.Item', 'stub.Item']);
  });

  it('refuses a bad call locally, naming the field, and sends nothing', async () => {
    const cases: [unknown, string][] = [
      [{ path: { id: 'x' }, query: { limit: 0 } }, 'query.limit: must be >= 1'],
      [{ path: { id: 'x' }, query: { nope: 1 } }, 'query.nope: not a parameter of this operation'],
      [{ query: {} }, 'path.id'],
      [{ path: { id: 'x' }, bdy: {} }, 'input.bdy: not one of path, query, headers, body'],
    ];
    for (const [input, what] of cases) {
      const err = await failure(client.getItem!(input));
      expect(err.code).toBe('BAD_CLIENT_CALL');
      expect(err.message).toContain(`stub.getItem: ${what}`);
    }
    const err = await failure(client.createItem!({ id: 'x', tags: 'no', qty: 0 }));
    expect(err.message).toMatch(/^stub\.createItem: body\.tags: must be array/);
    expect(stub.requests).toEqual([]);
  });

  it('a remote error in klue format keeps the remote code, status and error id', async () => {
    stub.handle = (_req, res) => json(res, 409, { status: 409, error: 'ALREADY_EXISTS', error_description: 'item i-1 exists', error_id: 'remote-id-1', user_message: 'Already there' });
    const err = await failure(client.createItem!(item));
    expect(err).toBeInstanceOf(RemoteError);
    expect(err).toMatchObject({ code: 'REMOTE_ERROR', status: 409, remoteCode: 'ALREADY_EXISTS', remoteErrorId: 'remote-id-1', message: 'item i-1 exists' });
    expect(err.toBody()).toMatchObject({ status: 409, error: 'ALREADY_EXISTS', error_description: 'item i-1 exists', user_message: 'Already there', error_id: err.errorId });
    expect(err.details).toMatchObject({ remote_error_id: 'remote-id-1', api: 'stub', operation: 'createItem' });
    // A code this service's catalog knows is the error's own code.
    stub.handle = (_req, res) => json(res, 403, { status: 403, error: 'FORBIDDEN', error_description: 'not yours', error_id: 'remote-id-2' });
    expect(await failure(client.listItems!())).toMatchObject({ code: 'FORBIDDEN', status: 403 });
  });

  it('an error in any other format keeps the remote status; a 5xx body never passes on', async () => {
    stub.handle = (_req, res) => res.writeHead(500, { 'content-type': 'text/plain' }).end('stack trace of the remote');
    const err = await failure(client.listItems!());
    expect(err).toMatchObject({ code: 'REMOTE_ERROR', status: 500, remoteCode: undefined });
    expect(JSON.stringify(err.toBody())).not.toContain('stack trace');
  });

  it('an answer that breaks the spec, is not JSON or is too large is UPSTREAM_RESPONSE_INVALID (502)', async () => {
    stub.handle = (_req, res) => json(res, 200, { id: 5, tags: [] });
    expect(await failure(client.getItem!({ path: { id: 'x' } }))).toMatchObject({ code: 'UPSTREAM_RESPONSE_INVALID', status: 502, message: 'stub.getItem: response 200: response.id: must be string' });
    stub.handle = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":');
    expect((await failure(client.listItems!())).message).toContain('not JSON');
    // chunked, so only counting the bytes as they come finds it too large
    stub.handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`[${'"x",'.repeat(300)}`);
      res.end(`${'"x",'.repeat(300)}"x"]`);
    };
    expect((await failure(client.listItems!())).message).toContain('larger than max_response_size (2000)');
  });

  it('no answer within the timeout is UPSTREAM_TIMEOUT (504)', async () => {
    stub.handle = () => undefined; // never answers
    const err = await failure(client.listItems!(undefined, { timeout: 100 }));
    expect(err).toMatchObject({ code: 'UPSTREAM_TIMEOUT', status: 504 });
    expect(err.toBody().error_description).toBe('Another API this call needs did not answer in time');
  });

  it('retries a broken connection for an idempotent method only', async () => {
    let drops = 2;
    stub.handle = (req, res) => (drops-- > 0 ? req && res.socket?.destroy() : json(res, 200, { ok: true }));
    expect(await client.flakyGet!()).toEqual({ ok: true });
    expect(stub.requests.length).toBe(3);
    stub.requests.length = 0;
    drops = 1;
    expect(await failure(client.flakyPost!())).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', status: 503 });
    expect(stub.requests.length).toBe(1);
  });

  it('carries the user token where the spec requires auth, the request id, and a client span in traceparent', async () => {
    stub.handle = (req, res) => json(res, 200, req.headers);
    const headers = (await asRequest(() => client.whoami!())) as Record<string, string>;
    expect(headers).toMatchObject({ authorization: 'Bearer ann-token', 'x-request-id': 'req-42' });
    const span = spans.getFinishedSpans().find((s) => s.name === 'GET stub /whoami');
    expect(span).toBeDefined();
    expect(headers.traceparent).toBe(`00-${span!.spanContext().traceId}-${span!.spanContext().spanId}-01`);
    // An operation without security: no token (send_token: auto); the call's `token` option overrides.
    const open = (await asRequest(() => client.public!())) as Record<string, string>;
    expect(open.authorization).toBeUndefined();
    expect(((await asRequest(() => client.public!(undefined, { token: 'other' }))) as Record<string, string>).authorization).toBe('Bearer other');
  });

  it('counts calls by api, operation and status', async () => {
    stub.handle = (_req, res) => json(res, 200, []);
    await client.listItems!();
    const text = await metrics().registry.getSingleMetricAsString('klue_client_requests_total');
    expect(text).toMatch(/klue_client_requests_total\{api="stub",operation="listItems",status="200"\} \d+/);
    expect(text).toMatch(/klue_client_requests_total\{api="stub",operation="listItems",status="timeout"\} 1/);
  });
});
