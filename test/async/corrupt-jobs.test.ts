import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, expect, it, inject } from 'vitest';
import { asynctask } from '../../src/tasks/index.js';
import { waitFor } from '../helpers/config.js';
import { startHarness, type Harness } from '../helpers/harness.js';

const done = new Set<string>();
const record = asynctask(async function corruptRecord(marker: string) {
  done.add(marker);
});

let h: Harness | undefined;
let redis: Redis | undefined;
afterEach(async () => {
  await h?.stop();
  redis?.disconnect();
});

// Job records written to Redis by something other than BullMQ: each fails for good with its
// reason, at once, and the tasks queued around them run.
it('fails a job whose record in Redis is unreadable or missing, and keeps serving', async () => {
  h = await startHarness();
  redis = new Redis(inject('redisUrl'));
  const queue = h.rawQueue();
  const keys = queue.keys;
  const now = String(Date.now());
  const corrupt: { id: string; fields?: string[]; reason: RegExp }[] = [
    { id: 'data-not-json', fields: ['name', 'corruptRecord', 'data', '{oops', 'opts', '{}', 'timestamp', now], reason: /^BAD_ENVELOPE: the job's record in Redis is unreadable \(.*JSON/ },
    { id: 'opts-not-json', fields: ['name', 'corruptRecord', 'data', '{}', 'opts', '[1,', 'timestamp', now], reason: /^BAD_ENVELOPE: the job's record in Redis is unreadable/ },
    { id: 'progress-not-json', fields: ['name', 'corruptRecord', 'data', '{}', 'opts', '{}', 'progress', 'x', 'timestamp', now], reason: /^BAD_ENVELOPE: the job's record in Redis is unreadable/ },
    { id: 'no-data', fields: ['name', 'corruptRecord', 'timestamp', now], reason: /^BAD_ENVELOPE: envelope is not signed/ },
    { id: 'no-record', reason: /^BAD_ENVELOPE: envelope is not signed/ },
  ];
  const before = Array.from({ length: 10 }, () => randomUUID());
  for (const m of before) await record(m);
  for (const { id, fields } of corrupt) {
    if (fields) await redis.hset(`${keys['']}${id}`, ...fields);
    await redis.lpush(keys.wait ?? '', id);
  }
  // What BullMQ's add does to wake a waiting worker.
  await redis.zadd(keys.marker ?? '', 0, '0');
  const after = Array.from({ length: 10 }, () => randomUUID());
  for (const m of after) await record(m);

  // Far sooner than a stalled check (async.stalled_interval, 30 s), which is how BullMQ alone would see them again.
  await waitFor(async () => (await queue.getJobCounts('failed')).failed === corrupt.length, 5000);
  for (const { id, reason } of corrupt) {
    const state = await queue.getJobState(id);
    const failedReason = await redis.hget(`${keys['']}${id}`, 'failedReason');
    expect({ id, state }).toEqual({ id, state: 'failed' });
    expect(failedReason, id).toMatch(reason);
  }
  await waitFor(() => [...before, ...after].every((m) => done.has(m)), 5000);
  expect(await queue.getJobCounts('active', 'wait', 'completed')).toEqual({ active: 0, wait: 0, completed: 20 });
});
