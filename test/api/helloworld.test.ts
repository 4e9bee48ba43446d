import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateToken } from '../../src/auth/jwt.js';
import { getJson, postJson, startInProcess, type TestServer } from '../helpers/in-process.js';
import { copyService, helloworldDir, type ServiceDir } from '../helpers/service-dir.js';
import { waitForFile } from '../helpers/wait.js';

// A port of the Python original's acceptance tests, run in-process with async in inline mode
// (test/e2e runs the same service with `klue start` and a real worker).
let svc: ServiceDir;
let server: TestServer;
let uuidFile: string;

beforeAll(async () => {
  process.env.PYM_JWT_SECRET = 'helloworld-test-secret';
  svc = copyService(helloworldDir);
  uuidFile = join(svc.dir, 'uuid.txt');
  server = await startInProcess(svc.dir, { uuid_file_path: uuidFile, async: { mode: 'inline', queue: `hw-${randomUUID()}` } });
});

afterAll(async () => {
  await server?.close();
  svc?.cleanup();
});

const auth = async () => ({ authorization: `Bearer ${await generateToken({ userId: 'test-jwt-token' })}` });

describe('pymacaron-helloworld, ported', () => {
  it('serves the unchanged spec of the original', () => {
    // sha256 of shared/fixtures/pymacaron-helloworld/helloworld.yaml, the original's published spec
    const digest = createHash('sha256').update(readFileSync(join(helloworldDir, 'apis', 'helloworld.yaml'))).digest('hex');
    expect(digest).toBe('e62448e7a0f92653decd1d6a43aa175f46e7d6e67ad0e621359d73f0b3e51400');
  });

  it('GET /ping', async () => {
    expect(await getJson(`${server.url}/ping`)).toMatchObject({ status: 200, body: {} });
  });

  it('GET /version', async () => {
    const res = await getJson(`${server.url}/version`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'hello', env: expect.any(String), container: expect.any(String), version: expect.any(String) });
  });

  it("GET /version and /auth/version answer the original's pym_env and apis too", async () => {
    const open = (await getJson(`${server.url}/version`)).body;
    const authed = (await getJson(`${server.url}/auth/version`, { headers: await auth() })).body;
    for (const body of [open, authed]) {
      expect(body.pym_env).toBe(body.env);
      expect(body.apis).toEqual(['helloworld']);
    }
  });

  it('GET /auth/version requires a token', async () => {
    expect((await getJson(`${server.url}/auth/version`)).body.error).toBe('AUTHORIZATION_HEADER_MISSING');
    const res = await getJson(`${server.url}/auth/version`, { headers: await auth() });
    expect(res.status).toBe(200);
    expect(res.body.name).toBe('hello');
  });

  it('GET /hello', async () => {
    expect((await getJson(`${server.url}/hello`)).body).toEqual({ message: 'hello world!' });
  });

  it('GET /hello/with/auth with a bearer token has a message', async () => {
    expect((await getJson(`${server.url}/hello/with/auth`)).status).toBe(401);
    const res = await getJson(`${server.url}/hello/with/auth`, { headers: await auth() });
    expect(res.status).toBe(200);
    expect(typeof res.body.message).toBe('string');
  });

  it('POST /hello/with/inheritance answers through the model parent class', async () => {
    const res = await postJson(`${server.url}/hello/with/inheritance`, { question: 'hello?' }, await auth());
    expect(res).toMatchObject({ status: 200, body: { message: 'You said: hello?' } });
    const bad = await postJson(`${server.url}/hello/with/inheritance`, { nope: 1 }, await auth());
    expect(bad.status).toBe(400);
    expect(bad.body.error_description).toMatch(/body\.question/);
  });

  it('GET /die answers 500 UNHANDLED_SERVER_ERROR whose error_id is logged with the stack', async () => {
    const res = await getJson(`${server.url}/die`);
    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({ status: 500, error: 'UNHANDLED_SERVER_ERROR' });
    const line = server.logs.find((l) => l.error_id === res.body.error_id);
    expect((line?.err as { stack?: string } | undefined)?.stack).toMatch(/crashed on purpose/);
  });

  it('GET /async queues the task that writes the code, with every argument intact', async () => {
    const res = await getJson(`${server.url}/async`);
    expect(res.status).toBe(200);
    const code = /^Writing code ([0-9a-f-]{36})/.exec(String(res.body.message))?.[1];
    expect(code).toBeDefined();
    await waitForFile(uuidFile, code!);
  });
});
