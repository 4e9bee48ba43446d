import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateToken } from '../../src/auth/jwt.js';
import { loadConfig } from '../../src/core/config/load-config.js';
import { resolvePropagation } from '../../src/core/context/propagation.js';
import { getJson, postJson } from '../helpers/in-process.js';
import { isMsg, spawnKlue, type KlueProcess } from '../helpers/klue-process.js';
import { freePort } from '../helpers/redis.js';
import { copyService, helloworldDir, type ServiceDir } from '../helpers/service-dir.js';
import { waitForFile } from '../helpers/wait.js';

// The README's promise, end to end: `klue start` serves the example and runs its worker.
let svc: ServiceDir;
let klue: KlueProcess;
let url: string;
let uuidFile: string;
const cleanups: (() => void)[] = [];
const env = { PYM_JWT_SECRET: 'e2e-helloworld-secret' };

beforeAll(async () => {
  const uuidDir = copyService(helloworldDir); // only for a private temp path
  uuidFile = join(uuidDir.dir, 'uuid.txt');
  svc = copyService(helloworldDir, {
    uuid_file_path: uuidFile,
    async: { redis_url: inject('redisUrl'), queue: `e2e-${randomUUID()}`, secret: 'e2e-signing-secret-0123456789abcdef' },
  });
  cleanups.push(uuidDir.cleanup);
  // Outside production klue start writes them (once it is serving): see that it does.
  rmSync(join(svc.dir, 'types'), { recursive: true, force: true });
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  klue = spawnKlue(['start', '--port', String(port), '--host', '127.0.0.1'], { cwd: svc.dir, env });
  await klue.waitForLine((l) => l.msg === 'hello listening', 30_000, 'the server to listen');
}, 60_000);

afterAll(async () => {
  await klue?.stop();
  svc?.cleanup();
  for (const c of cleanups) c();
});

async function bearer() {
  process.env.PYM_JWT_SECRET = env.PYM_JWT_SECRET;
  const config = await loadConfig({ dir: svc.dir });
  return { authorization: `Bearer ${await generateToken({ userId: 'test-jwt-token', config: config.jwt })}` };
}

describe('klue start on the helloworld example', () => {
  it('says which context propagation the server and its worker use (auto: promise hooks before Node 24)', async () => {
    const expected = resolvePropagation('auto');
    expect((await klue.waitForLine((l) => l.msg === 'hello listening')).context_propagation).toBe(expected);
    const worker = await klue.waitForLine(isMsg('async: worker serving'), 30_000, 'the worker');
    expect(worker.context_propagation).toBe(expected);
  });

  it('writes the API types, as klue types does, once it is serving', async () => {
    const committed = readFileSync(join(helloworldDir, 'types', 'helloworld.ts'), 'utf8');
    await waitForFile(join(svc.dir, 'types', 'helloworld.ts'), committed, 20_000);
    // Written by a `klue types` beside the server (the generator is not loaded into the server), which says so.
    const line = await klue.waitForLine((l) => l.msg === 'wrote API types', 20_000, 'the server to log the types it wrote');
    expect(line.files).toEqual([join(svc.dir, 'types', 'helloworld.ts')]);
  });

  it('answers the original acceptance tests', async () => {
    expect((await getJson(`${url}/ping`)).body).toEqual({});
    expect((await getJson(`${url}/version`)).body.name).toBe('hello');
    expect((await getJson(`${url}/auth/version`, { headers: await bearer() })).status).toBe(200);
    expect((await getJson(`${url}/hello/with/auth`, { headers: await bearer() })).body.message).toBeTypeOf('string');
    expect((await postJson(`${url}/hello/with/inheritance`, { question: 'hello?' }, await bearer())).body).toEqual({ message: 'You said: hello?' });
  });

  it('GET /async: the worker process writes the uuid with every argument checked', async () => {
    const res = await getJson(`${url}/async`, { headers: { 'x-request-id': 'e2e-async-1' } });
    const code = /^Writing code ([0-9a-f-]{36})/.exec(String(res.body.message))?.[1];
    expect(code).toBeDefined();
    await waitForFile(uuidFile, code!, 20_000);
    // the task's own log line, written in the worker, carries the request id of the endpoint
    const line = await klue.waitForLine((l) => l.msg === 'wrote code' && l.code === code);
    expect(line).toMatchObject({ req_id: 'e2e-async-1', role: 'worker', task: 'writeCodeToFile' });
  });

  it('GET /asyncdie: the failing task is reported, the worker keeps running', async () => {
    const res = await getJson(`${url}/asyncdie`, { headers: { 'x-request-id': 'e2e-die-1' } });
    expect(res.status).toBe(200);
    const failed = await klue.waitForLine((l) => l.req_id === 'e2e-die-1' && l.level === 50, 20_000, 'the task failure');
    expect(failed.task).toBe('failingTask');
    const again = await getJson(`${url}/async`);
    expect(again.status).toBe(200);
  });

  it('SIGTERM stops server and worker and exits 0', async () => {
    expect(await klue.stop('SIGTERM')).toBe(0);
  });
});
