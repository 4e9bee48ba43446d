import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import { sealEnvelope, type TaskPayload } from '../../src/tasks/envelope/envelope.js';
import { faultService, post, secondsSince, SECRET, waitUntil, type FaultService } from '../helpers/fault-service.js';

const GOOD = 2000;
let f: FaultService | undefined;
afterAll(async () => f?.cleanup());

/** A payload as the service would sign it, for a job added with the id and the 3 attempts it names. */
function payload(queue: string, task: string, args: unknown[], at = Date.now()): TaskPayload {
  return { id: randomUUID(), svc: queue, q: 'default', task, args, ctx: {}, at, exp: at + 86_400_000, o: { a: 3 } };
}

it('garbage in the queue (not an envelope, an old version, bad signature, unknown task, oversized): each fails with its reason, good tasks keep flowing', async () => {
  f = await faultService({ concurrency: 10, max_payload: 65_536 });
  const { klue, url } = await f.start([], 1);
  const t0 = Date.now();
  const badJson = '{"task":"record","args":["x"';
  const sealed = (...a: Parameters<typeof sealEnvelope>): unknown => JSON.parse(sealEnvelope(...a));
  const forged = payload(f.queue, 'record', ['forged', 0]);
  const unknown = payload(f.queue, 'noSuchTask', [], Date.now() - 3_600_000);
  const oversized = payload(f.queue, 'record', ['x'.repeat(200_000), 0]);
  const garbage: { kind: string; name: string; data: unknown; jobId?: string; attempts: number; reason: RegExp }[] = [
    { kind: 'not-an-envelope', name: 'record', data: 'rm -rf /', attempts: 1, reason: /^BAD_ENVELOPE: job data is not a klue envelope/ },
    { kind: 'old-version', name: 'record', data: { v: 1, p: badJson, s: createHmac('sha256', SECRET).update(badJson).digest('hex') }, attempts: 1, reason: /^BAD_ENVELOPE: envelope version 1 was written by a klue without replay protection/ },
    { kind: 'bad-signature', name: 'record', data: sealed(forged, 'not-the-service-secret-0123456789', 1e6), jobId: forged.id, attempts: 1, reason: /^BAD_ENVELOPE: bad signature/ },
    // Queued an hour ago: past async.unknown_task_grace, so it uses its attempts and fails.
    { kind: 'unknown-task', name: 'noSuchTask', data: sealed(unknown, SECRET, 1e6), jobId: unknown.id, attempts: 3, reason: /^UNKNOWN_TASK: no task named 'noSuchTask'/ },
    { kind: 'oversized', name: 'record', data: sealed(oversized, SECRET, 1e6), jobId: oversized.id, attempts: 1, reason: /^BAD_ENVELOPE: payload is \d+ bytes, more than async.max_payload \(65536\)/ },
  ];
  expect((await post(`${url}/enqueue`, { start: 0, n: GOOD / 2, ms: 5 })).status).toBe(200);
  const ids: string[] = [];
  for (const g of garbage) {
    // Offered three attempts each: only the unknown task (a newer worker may know it) uses them.
    const job = await f.bull.add(g.name, g.data, { jobId: g.jobId, attempts: 3, backoff: { type: 'fixed', delay: 100 } });
    ids.push(job.id ?? '');
  }
  expect((await post(`${url}/enqueue`, { start: GOOD / 2, n: GOOD / 2, ms: 5 })).status).toBe(200);

  await waitUntil(async () => (await f!.runs()).size === GOOD && (await f!.unfinished()) === 0, 90_000, 'good tasks to run and garbage to fail');
  const outcomes = await Promise.all(
    ids.map(async (id) => {
      const job = await f!.bull.getJob(id);
      return { state: await job?.getState(), reason: job?.failedReason ?? '', attempts: job?.attemptsMade ?? 0 };
    }),
  );
  const runs = await f.runs();
  const summary = garbage.map((g, i) => `${g.kind}:${outcomes[i]?.state}/${outcomes[i]?.attempts}`).join(',');
  console.log(`[faults] garbage: injected=${garbage.length} failed=${outcomes.filter((o) => o.state === 'failed').length} good=${GOOD} completed=${runs.size} lost=${GOOD - runs.size} outcomes=${summary} worker-alive=${klue.child.exitCode === null} seconds=${secondsSince(t0)}`);
  for (const [i, g] of garbage.entries()) {
    expect(outcomes[i]?.state, g.kind).toBe('failed');
    expect(outcomes[i]?.reason, g.kind).toMatch(g.reason);
    expect(outcomes[i]?.attempts, g.kind).toBe(g.attempts);
  }
  expect(runs.size).toBe(GOOD);
  expect(runs.has('forged')).toBe(false);
  // Each rejection is logged with its reason, by the same worker, which kept running.
  const rejected = klue.lines.filter((l) => typeof l === 'object' && l.msg === 'async: rejected a job that is not a valid klue envelope; not retried');
  expect(rejected).toHaveLength(4);
  expect(klue.lines.filter((l) => typeof l === 'object' && l.msg === 'async: worker exited; restarting it')).toEqual([]);
});
