import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiPool, type ApiEntry } from '../../src/spec/api-pool.js';
import { generateToken } from '../../src/auth/jwt.js';
import { postJson, startInProcess, type TestServer } from '../helpers/in-process.js';
import { copyService, helloworldDir, type ServiceDir } from '../helpers/service-dir.js';

// The example's Question model inherits getQuestion() from its x-parent class: data cannot
// replace what the class gives a model (nor the prototype itself).
let svc: ServiceDir;
let server: TestServer;

beforeAll(async () => {
  process.env.PYM_JWT_SECRET = 'model-shadowing-test-secret';
  svc = copyService(helloworldDir);
  server = await startInProcess(svc.dir, { async: { mode: 'inline', queue: `shadowing-${randomUUID()}` } });
});

afterAll(async () => {
  await server?.close();
  svc?.cleanup();
});

const ask = async (body: Record<string, unknown>) =>
  postJson(`${server.url}/hello/with/inheritance`, body, { authorization: `Bearer ${await generateToken({ userId: 'shadow' })}` });

describe('a body cannot shadow the members of its x-parent model class', () => {
  it.each(['getQuestion', 'constructor'])('a body with the key %s is a 400 INVALID_PARAMETER naming it', async (key) => {
    const res = await ask({ question: 'hi', [key]: 'x' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'INVALID_PARAMETER', error_description: expect.stringContaining(`body.${key}`) });
  });

  it('a body with other extra keys is served through the class method', async () => {
    expect(await ask({ question: 'hi', toString: 'x', extra: 1 })).toMatchObject({ status: 200, body: { message: 'You said: hi' } });
  });

  it('a model constructor refuses such data, and a __proto__ key', () => {
    // Untyped: the data is what the example's types forbid.
    const { Question, Hello } = (ApiPool as Record<string, ApiEntry | undefined>).helloworld!.model;
    expect(() => Question!({ question: 'hi', getQuestion: 'x' })).toThrow(expect.objectContaining({ code: 'MODEL_INVALID', message: expect.stringMatching(/getQuestion/) }));
    const poisoned = JSON.parse('{"message": "hi", "__proto__": {"isAdmin": true}}') as Record<string, unknown>;
    expect(() => Hello!(poisoned)).toThrow(expect.objectContaining({ code: 'MODEL_INVALID', message: expect.stringMatching(/__proto__/) }));
  });
});
