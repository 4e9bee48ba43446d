import { randomUUID } from 'node:crypto';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateToken } from '../../src/auth/jwt.js';
import { loadConfig } from '../../src/core/config/load-config.js';
import { getJson } from '../helpers/in-process.js';
import { spawnKlue, type KlueProcess } from '../helpers/klue-process.js';
import { freePort } from '../helpers/redis.js';
import { copyService, repoRoot, type ServiceDir } from '../helpers/service-dir.js';

// Two real klue services, each its own `klue start`: beta calls alpha through
// ApiPool.alpha.client, from its endpoints and from a task its worker runs.
const fixtures = join(repoRoot, 'test', 'fixtures', 'clients');
let alphaDir: ServiceDir;
let betaDir: ServiceDir;
let alpha: KlueProcess;
let beta: KlueProcess;
let alphaPort: number;
let betaUrl: string;
let auth: { authorization: string };

function startAlpha(): Promise<Record<string, unknown>> {
  alpha = spawnKlue(['start', '--port', String(alphaPort), '--host', '127.0.0.1'], { cwd: alphaDir.dir });
  return alpha.waitForLine((l) => l.msg === 'alpha listening', 30_000, 'alpha to listen');
}

beforeAll(async () => {
  alphaDir = copyService(join(fixtures, 'alpha'));
  betaDir = copyService(join(fixtures, 'beta'), {
    async: { redis_url: inject('redisUrl'), queue: `two-svc-${randomUUID()}`, secret: 'two-services-signing-secret-0123456789' },
  });
  // beta calls alpha from a copy of alpha's spec, as a client-only API.
  copyFileSync(join(fixtures, 'alpha', 'apis', 'alpha.yaml'), join(betaDir.dir, 'apis', 'alpha.yaml'));
  alphaPort = await freePort();
  const betaPort = await freePort();
  betaUrl = `http://127.0.0.1:${betaPort}`;
  await startAlpha();
  process.env.ALPHA_URL = `http://127.0.0.1:${alphaPort}`;
  beta = spawnKlue(['start', '--port', String(betaPort), '--host', '127.0.0.1'], { cwd: betaDir.dir });
  await beta.waitForLine((l) => l.msg === 'beta listening', 30_000, 'beta to listen');
  await beta.waitForLine((l) => typeof l.msg === 'string' && l.msg.startsWith('async: worker serving'), 30_000, "beta's worker");
  const config = await loadConfig({ dir: betaDir.dir });
  auth = { authorization: `Bearer ${await generateToken({ userId: 'ann', config: config.jwt })}` };
}, 90_000);

afterAll(async () => {
  await beta?.stop();
  await alpha?.stop();
  betaDir?.cleanup();
  alphaDir?.cleanup();
});

const call = (path: string, id: string) => getJson(`${betaUrl}${path}`, { headers: { ...auth, 'x-request-id': id } });
const alphaSaw = (id: string) => alpha.waitForLine((l) => l.msg === 'whoami' && l.req_id === id, 20_000, `alpha to see ${id}`);

describe('a klue service calling another through its client', () => {
  it('an endpoint calls alpha as its user, with its request id', async () => {
    const res = await call('/direct', 'two-svc-direct');
    expect(res).toMatchObject({ status: 200, body: { user: 'ann', request_id: 'two-svc-direct' } });
    expect(await alphaSaw('two-svc-direct')).toMatchObject({ user_id: 'ann' });
  });

  it("a task queued by the endpoint calls alpha as the endpoint's user, with its request id", async () => {
    expect((await call('/later', 'two-svc-task')).status).toBe(200);
    expect(await alphaSaw('two-svc-task')).toMatchObject({ user_id: 'ann' });
    const done = await beta.waitForLine((l) => l.msg === 'alpha answered' && l.req_id === 'two-svc-task', 20_000, 'the task');
    expect(done).toMatchObject({ role: 'worker', who: { user: 'ann', request_id: 'two-svc-task' } });
  });

  it("alpha's error reaches beta's caller with alpha's status and code", async () => {
    const res = await call('/fail', 'two-svc-fail');
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ status: 403, error: 'FORBIDDEN', error_description: 'not yours' });
  });

  it('a call with a bad argument fails in beta and sends nothing to alpha', async () => {
    const res = await call('/bad', 'two-svc-bad');
    expect(res.status).toBe(500);
    expect(res.body.error).toBe('BAD_CLIENT_CALL');
    // alpha writes its lines in order: once it has seen the next call, it would have seen the bad one
    await call('/direct', 'two-svc-after-bad');
    await alphaSaw('two-svc-after-bad');
    expect(alpha.lines.some((l) => typeof l === 'object' && l.req_id === 'two-svc-bad')).toBe(false);
  });

  it('alpha down: the endpoint answers a clean 503, and the task retries until alpha is back', async () => {
    await alpha.stop();
    const res = await call('/direct', 'two-svc-down');
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ status: 503, error: 'UPSTREAM_UNAVAILABLE', error_description: 'Another API this call needs could not be reached' });
    expect((await call('/later', 'two-svc-retry')).status).toBe(200);
    await beta.waitForLine((l) => l.req_id === 'two-svc-retry' && l.code === 'UPSTREAM_UNAVAILABLE', 20_000, "the task's failed call");
    await startAlpha();
    expect(await alphaSaw('two-svc-retry')).toMatchObject({ user_id: 'ann' });
    const done = await beta.waitForLine((l) => l.msg === 'alpha answered' && l.req_id === 'two-svc-retry', 20_000, 'the retried task');
    expect(done.attempt).toBeGreaterThan(1);
  });
});
