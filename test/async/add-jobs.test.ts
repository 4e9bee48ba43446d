import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Queue, Worker, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { addStandardJobs, isStandardJob, storedOpts } from '../../src/tasks/transport/add-jobs.js';

// klue adds a batch of standard jobs with its own script (src/tasks/transport/add-jobs.ts). These tests
// add the same jobs with BullMQ's queue.add() on a twin queue and compare everything in Redis.

const OPTS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 1000, jitter: 0.5 },
  removeOnComplete: { count: 100 },
  removeOnFail: { count: 5000 },
};

describe('add-jobs.lua', () => {
  it("names the installed BullMQ's addStandardJob script by its hash: an upgrade that changes it fails here", () => {
    const lua = readFileSync(new URL('../../src/tasks/transport/add-jobs.lua', import.meta.url), 'utf8');
    const header = /^-- Mirrors: bullmq (\S+), (\S+)\n-- sha256: ([0-9a-f]{64})$/m.exec(lua);
    expect(header, 'the Mirrors / sha256 header lines').not.toBeNull();
    const [, , script, hash] = header ?? [];
    const bullmqDir = dirname(createRequire(import.meta.url).resolve('bullmq/package.json'));
    const installed = createHash('sha256').update(readFileSync(join(bullmqDir, script ?? ''))).digest('hex');
    expect(installed, `bullmq's ${script} changed: compare it with add-jobs.lua, bring that in line, then update its header`).toBe(hash);
  });
});

let redis: Redis;
const queues: Queue[] = [];
beforeAll(() => {
  redis = new Redis(inject('redisUrl'));
});
afterAll(async () => {
  await Promise.all(queues.map((q) => q.close()));
  redis.disconnect();
});

function twins(): { bull: Queue; klue: Queue } {
  const prefix = `addjobs-${randomUUID()}`;
  const bull = new Queue('{bull}', { connection: redis, prefix });
  const klue = new Queue('{klue}', { connection: redis, prefix });
  queues.push(bull, klue);
  return { bull, klue };
}

type Call = { name: string; data: unknown; opts: JobsOptions };

async function snapshot(queue: Queue) {
  const k = queue.keys;
  const ids = new Set<string>([...(await redis.lrange(k.wait ?? '', 0, -1)), ...(await redis.lrange(k.paused ?? '', 0, -1))]);
  const events = (await redis.xrange(k.events ?? '', '-', '+')).map(([, fields]) => fields);
  const jobs: Record<string, Record<string, unknown>> = {};
  for (const id of ids) {
    const { timestamp, opts, ...fields } = await redis.hgetall(queue.toKey(id));
    expect(Number(timestamp)).toBeGreaterThan(0);
    jobs[id] = { ...fields, opts: JSON.parse(opts ?? 'null') as unknown };
  }
  return {
    wait: await redis.lrange(k.wait ?? '', 0, -1),
    paused: await redis.lrange(k.paused ?? '', 0, -1),
    marker: await redis.zrange(k.marker ?? '', 0, -1, 'WITHSCORES'),
    id: await redis.get(k.id ?? ''),
    meta: await redis.hgetall(k.meta ?? ''),
    events,
    jobs,
  };
}

/** Adds `calls` with BullMQ one by one on one twin, in one klue batch on the other, and compares. */
async function compare(calls: Call[], setup?: (q: Queue) => Promise<void>) {
  const { bull, klue } = twins();
  if (setup) {
    await setup(bull);
    await setup(klue);
  }
  const bullIds: string[] = [];
  for (const c of calls) bullIds.push((await bull.add(c.name, c.data, c.opts)).id ?? '');
  const added = await addStandardJobs(klue, calls.map((c) => ({ name: c.name, data: JSON.stringify(c.data), opts: c.opts })));
  expect(added.map((a) => a.id)).toEqual(bullIds);
  expect(await snapshot(klue)).toEqual(await snapshot(bull));
  return added;
}

describe('klue batch add vs BullMQ add', () => {
  it('stores the same jobs, lists, marker, counter and events', async () => {
    await compare([
      { name: 'a', data: { v: 1, p: '{"x":"y"}', s: 'f'.repeat(64) }, opts: OPTS },
      { name: 'b', data: { v: 1, p: 'é ✓', s: '0'.repeat(64) }, opts: { ...OPTS, attempts: 1 } },
      { name: 'a', data: { v: 1, p: '', s: '1'.repeat(64) }, opts: OPTS },
    ]);
  });

  it('handles chosen job ids and duplicates as BullMQ does, and tells ours from another', async () => {
    const data = { v: 1, p: 'one', s: 'a'.repeat(64) };
    const added = await compare([
      { name: 'a', data, opts: { ...OPTS, jobId: 'order-1' } },
      { name: 'a', data: { v: 1, p: 'plain', s: 'c'.repeat(64) }, opts: OPTS },
      { name: 'a', data, opts: { ...OPTS, jobId: 'order-1' } },
      { name: 'a', data: { v: 1, p: 'two', s: 'b'.repeat(64) }, opts: { ...OPTS, jobId: 'order-1' } },
    ]);
    expect(added.map((a) => a.duplicate)).toEqual([false, false, false, true]);
  });

  it('adds to the paused list without a marker when the queue is paused', async () => {
    await compare([{ name: 'a', data: { n: 1 }, opts: OPTS }], (q) => q.pause());
  });

  it('stores the opts BullMQ stores, and leaves other options to addBulk', () => {
    expect(JSON.parse(storedOpts(OPTS))).toEqual({ attempts: 3, backoff: { type: 'exponential', delay: 1000, jitter: 0.5 }, removeOnComplete: { count: 100 }, removeOnFail: { count: 5000 } });
    expect(isStandardJob(OPTS)).toBe(true);
    expect(isStandardJob({ ...OPTS, delay: 10 })).toBe(false);
    expect(isStandardJob({ ...OPTS, priority: 2 })).toBe(false);
    expect(isStandardJob({ ...OPTS, lifo: true })).toBe(false);
  });

  it('makes jobs a BullMQ Worker runs', async () => {
    const { klue } = twins();
    await addStandardJobs(klue, [1, 2, 3].map((n) => ({ name: 'n', data: JSON.stringify({ n }), opts: OPTS })));
    const seen: number[] = [];
    const worker = new Worker(klue.name, async (job) => void seen.push((job.data as { n: number }).n), {
      connection: { url: inject('redisUrl') },
      prefix: klue.opts.prefix,
    });
    try {
      await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(3);
      expect(seen).toEqual([1, 2, 3]);
    } finally {
      await worker.close();
    }
  });
});
