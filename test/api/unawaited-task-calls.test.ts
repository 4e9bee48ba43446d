import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bullQueueName } from '../../src/tasks/transport/queue-names.js';
import { postJson, startInProcess, type TestServer } from '../helpers/in-process.js';
import { writeService } from '../helpers/service-dir.js';
import { startRedis, stopAndClean, type PrivateRedis } from '../helpers/redis.js';

// Handlers that call a task without awaiting it: the response must still wait for Redis to
// acknowledge the call, and say so when it could not be queued.
const SPEC = `swagger: "2.0"
info: {title: unawaited, version: "1"}
paths:
  /queued:
    post:
      x-bind-server: handler#queued
      parameters:
        - {in: body, name: body, required: true, schema: {type: object, required: [id], properties: {id: {type: string}}}}
      responses:
        '200': {description: queued, schema: {type: object, required: [ok], properties: {ok: {type: boolean}}}}
  /caught:
    post:
      x-bind-server: handler#caught
      parameters:
        - {in: body, name: body, required: true, schema: {type: object, required: [id], properties: {id: {type: string}}}}
      responses:
        '200': {description: fell back, schema: {type: object, required: [ok], properties: {ok: {type: boolean}, why: {type: string}}}}
  /queued-then-refused:
    post:
      x-bind-server: handler#queuedThenRefused
      parameters:
        - {in: body, name: body, required: true, schema: {type: object, required: [id], properties: {id: {type: string}}}}
      responses:
        '200': {description: never, schema: {type: object}}
`;
const HANDLER = `import { asynctask } from '${join(process.cwd(), 'src', 'tasks', 'index.js')}';
import { KlueError } from '${join(process.cwd(), 'src', 'core', 'errors', 'klue-error.js')}';
export const unawaitedNote = asynctask(async function unawaitedNote(id) { return id; });
export async function queued({ body }) {
  void unawaitedNote(body.id);
  return { ok: true };
}
// Awaits its task calls and catches their failures: a bad argument, Redis unavailable.
export async function caught({ body }) {
  try {
    await unawaitedNote(body.id, body.id === 'bad' ? new Map() : undefined);
    return { ok: true };
  } catch (err) {
    return { ok: false, why: err.code ?? err.name };
  }
}
export async function queuedThenRefused({ body }) {
  void unawaitedNote(body.id);
  throw new KlueError('INVALID_PARAMETER', 'refused after queuing ' + body.id);
}
`;

const service = writeService({ 'klue-config.yaml': 'name: unawaited\nwith_async: true\n', 'apis/api.yaml': SPEC, 'handler.ts': HANDLER });
const queueName = `unawaited-${randomUUID()}`;
let redis: PrivateRedis;
let server: TestServer;
let queue: Queue;
let admin: Redis;

/**
 * Holds Redis's writes (reads go on) for `ms` while `request` runs, and gives its answer and how
 * many jobs waited when it came: a response sent before its task calls were acknowledged would
 * come while they are still held back.
 */
async function whileWritesHeld<T>(ms: number, request: () => Promise<T>): Promise<{ answer: T; waitingAtAnswer: number }> {
  const waitKey = `klue:${queueName}:${bullQueueName('default')}:wait`;
  await admin.client('PAUSE', ms, 'WRITE');
  const answer = await request();
  return { answer, waitingAtAnswer: await admin.llen(waitKey) };
}

/** The ids of the notes queued so far (each job's data is a signed envelope holding its arguments). */
async function queuedIds(): Promise<string[]> {
  const jobs = await queue.getJobs(['wait']);
  return jobs.map((j) => (j.data as { p: { args: string[] } }).p.args[0] ?? '');
}

beforeAll(async () => {
  redis = await startRedis();
  server = await startInProcess(service.dir, { async: { redis_url: redis.url, queue: queueName, secret: 'unawaited-test-secret-0123456789' } });
  admin = new Redis(redis.url);
  queue = new Queue(bullQueueName('default'), { connection: { url: redis.url }, prefix: `klue:${queueName}` });
});

afterAll(async () => {
  await queue?.close();
  admin?.disconnect();
  await server?.close();
  if (redis) await stopAndClean(redis);
  service.cleanup();
});

describe('task calls a handler does not await', () => {
  it('are in Redis before the response is sent', async () => {
    const ids = Array.from({ length: 20 }, () => randomUUID());
    const answers = await Promise.all(ids.map((id) => postJson(`${server.url}/queued`, { id })));
    for (const a of answers) expect(a).toMatchObject({ status: 200, body: { ok: true } });
    expect((await queuedIds()).sort()).toEqual([...ids].sort());
    const held = await whileWritesHeld(300, () => postJson(`${server.url}/queued`, { id: randomUUID() }));
    expect(held.answer.status).toBe(200);
    expect(held.waitingAtAnswer).toBe(ids.length + 1);
  });

  it("are in Redis before the handler's own error is sent, which is the one the caller gets", async () => {
    const id = randomUUID();
    const res = await postJson(`${server.url}/queued-then-refused`, { id });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ status: 400, error: 'INVALID_PARAMETER', error_description: `refused after queuing ${id}` });
    expect(await queuedIds()).toContain(id);
    const before = (await queuedIds()).length;
    const held = await whileWritesHeld(300, () => postJson(`${server.url}/queued-then-refused`, { id: randomUUID() }));
    expect(held.answer.status).toBe(400);
    expect(held.waitingAtAnswer).toBe(before + 1);
  });

  it('leave a failure the handler awaited and caught to the handler, which answers normally', async () => {
    const res = await postJson(`${server.url}/caught`, { id: 'bad' });
    expect(res).toMatchObject({ status: 200, body: { ok: false, why: 'TASK_VALUE_INVALID' } });
    expect(await postJson(`${server.url}/caught`, { id: randomUUID() })).toMatchObject({ status: 200, body: { ok: true } });
  });

  it('turn the response into a 503 ASYNC_UNAVAILABLE when Redis cannot take them, unless the handler caught that', async () => {
    await stopAndClean(redis);
    const res = await postJson(`${server.url}/queued`, { id: randomUUID() });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ status: 503, error: 'ASYNC_UNAVAILABLE' });
    expect(typeof res.body.error_id).toBe('string');
    expect(await postJson(`${server.url}/caught`, { id: randomUUID() })).toMatchObject({ status: 200, body: { ok: false, why: 'ASYNC_UNAVAILABLE' } });
  });
});
