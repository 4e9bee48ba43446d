import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateToken } from '../../src/auth/jwt.js';
import { addErrorReporter } from '../../src/core/errors/reporter.js';
import type { KlueError } from '../../src/core/errors/klue-error.js';
import { getJson, postJson, startInProcess, type TestServer } from '../helpers/in-process.js';
import { copyService, repoRoot, type ServiceDir } from '../helpers/service-dir.js';

let svc: ServiceDir;
let server: TestServer;
const reported: KlueError[] = [];

beforeAll(async () => {
  process.env.PETS_JWT_SECRET = 'pets-secret-for-tests-only';
  svc = copyService(`${repoRoot}/test/fixtures/pets`);
  addErrorReporter((err) => {
    reported.push(err);
  });
  server = await startInProcess(svc.dir);
});

afterAll(async () => {
  await server?.close();
  svc?.cleanup();
});

const token = (opts: { expiresIn?: number } = {}) => generateToken({ userId: 'ann', ...opts });

describe('an OpenAPI 3.0 service', () => {
  it('serves operations with coerced and defaulted query parameters', async () => {
    const res = await getJson(`${server.url}/pets?limit=5`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ pets: [{ id: 1, name: 'Rex', tag: null }] });
    const dflt = await getJson(`${server.url}/pets`);
    expect(dflt.status).toBe(200);
  });

  it('rejects a bad query parameter with 400 naming the field', async () => {
    const res = await getJson(`${server.url}/pets?limit=1000`);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('INVALID_PARAMETER');
    expect(res.body.error_description).toMatch(/querystring\.limit/);
    expect(Object.keys(res.body).sort()).toEqual(['error', 'error_description', 'error_id', 'status', 'user_message']);
  });

  it('coerces path parameters and answers handler errors with their code', async () => {
    expect((await getJson(`${server.url}/pets/1`)).body).toMatchObject({ id: 1, name: 'Rex' });
    const missing = await getJson(`${server.url}/pets/99`);
    expect(missing.status).toBe(404);
    expect(missing.body.user_message).toBe('This pet does not exist');
    expect((await getJson(`${server.url}/pets/abc`)).status).toBe(400);
  });

  it('requires a bearer token where the spec has a bearer security requirement', async () => {
    const none = await postJson(`${server.url}/pets`, { name: 'Tom' });
    expect(none.status).toBe(401);
    expect(none.body.error).toBe('AUTHORIZATION_HEADER_MISSING');
    const bad = await postJson(`${server.url}/pets`, { name: 'Tom' }, { authorization: 'Bearer abc.def.ghi' });
    expect(bad.body.error).toBe('TOKEN_INVALID');
    const expired = await postJson(`${server.url}/pets`, { name: 'Tom' }, { authorization: `Bearer ${await token({ expiresIn: -10 })}` });
    expect(expired.body.error).toBe('TOKEN_EXPIRED');
    const ok = await postJson(`${server.url}/pets`, { name: 'Tom' }, { authorization: `Bearer ${await token()}` });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ name: 'Tom', tag: null });
  });

  it('validates the body and names the bad field', async () => {
    const auth = { authorization: `Bearer ${await token()}` };
    const res = await postJson(`${server.url}/pets`, { name: '' }, auth);
    expect(res.status).toBe(400);
    expect(res.body.error_description).toMatch(/body\.name/);
    const extra = await postJson(`${server.url}/pets`, { name: 'x', color: 'red' }, auth);
    expect(extra.status).toBe(400);
    const notJson = await getJson(`${server.url}/pets`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: '{oops' });
    expect(notJson.status).toBe(400);
    expect(notJson.body.error).toBe('INVALID_PARAMETER');
  });

  it('accepts a missing optional body and validates a present one', async () => {
    expect((await getJson(`${server.url}/search`, { method: 'POST' })).body).toEqual({ got: 'nothing' });
    expect((await postJson(`${server.url}/search`, { q: 'cats' })).body).toEqual({ got: 'cats' });
    expect((await postJson(`${server.url}/search`, { q: 5 })).status).toBe(400);
  });

  it('gives the handler the verified user, the request and the config', async () => {
    const res = await getJson(`${server.url}/whoami?x=1`, { headers: { authorization: `Bearer ${await token()}`, 'x-request-id': 'req-abc-123' } });
    expect(res.body).toEqual({ user: 'ann', request_id: 'req-abc-123', url: '/whoami?x=1', greeting: 'hi' });
    expect(res.headers.get('x-request-id')).toBe('req-abc-123');
  });

  it('generates a request id when none is given and echoes it', async () => {
    const res = await getJson(`${server.url}/pets`);
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers a response that violates the spec with a logged 500 BAD_RESPONSE, never a stripped body', async () => {
    const res = await getJson(`${server.url}/broken-response`);
    expect(res.status).toBe(500);
    expect(res.body.error).toBe('BAD_RESPONSE');
    const line = server.logs.find((l) => l.error_id === res.body.error_id);
    expect(line?.msg).toMatch(/response\.id/);
    expect(reported.map((e) => e.errorId)).toContain(res.body.error_id);
  });

  it('writes the request id and user id on every log line of a request', async () => {
    await postJson(`${server.url}/pets`, { name: 'Logged' }, { authorization: `Bearer ${await token()}`, 'x-request-id': 'req-logs-1' });
    const lines = server.logs.filter((l) => l.req_id === 'req-logs-1');
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['created a pet', 'request completed']));
    for (const l of lines) expect(l.user_id).toBe('ann');
  });

  it('answers unknown routes with ROUTE_NOT_FOUND', async () => {
    const res = await getJson(`${server.url}/nope`);
    expect(res.status).toBe(404);
    expect(res.body.error).toBe('ROUTE_NOT_FOUND');
  });

  it('serves the spec in Swagger UI', async () => {
    const ui = await fetch(`${server.url}/docs`);
    expect(ui.status).toBe(200);
    expect((await getJson(`${server.url}/docs/pets.json`)).body.openapi).toBe('3.0.3');
  });
});
