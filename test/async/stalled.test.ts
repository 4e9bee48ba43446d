import { randomUUID } from 'node:crypto';
import { Worker } from 'bullmq';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { asynctask } from '../../src/tasks/index.js';
import { bullQueueName, queuePrefix } from '../../src/tasks/transport/queue-names.js';
import { startWorker } from '../../src/tasks/run/worker.js';
import { addErrorReporter, type ErrorReport } from '../../src/core/errors/reporter.js';
import type { KlueError } from '../../src/core/errors/klue-error.js';
import { waitFor } from '../helpers/config.js';
import { startHarness, type Harness } from '../helpers/harness.js';

const ran = new Map<string, number>();
const once = asynctask(async function stalledOnce(marker: string) {
  ran.set(marker, (ran.get(marker) ?? 0) + 1);
  return marker;
});

/**
 * Takes the next job as a worker would and then "dies": it never renews the lock nor finishes
 * the job, as a worker SIGKILLed mid-task.
 */
async function takeAndDie(h: Harness): Promise<string> {
  const doomed = new Worker(bullQueueName('default'), null, { connection: { url: inject('redisUrl') }, prefix: queuePrefix(h.config), lockDuration: 500 });
  try {
    const job = await doomed.getNextJob(randomUUID());
    if (!job?.id) throw new Error('no job to take');
    return job.id;
  } finally {
    await doomed.close(true);
  }
}

describe('tasks whose worker died mid-run (stalled)', () => {
  let h: Harness | undefined;
  const cleanups: (() => void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) c();
    await h?.stop();
    h = undefined;
  });

  it('run again on another worker once the lock expires (at-least-once)', async () => {
    h = await startHarness({ async: { stalled_interval: 500, max_stalled: 1 }, worker: false });
    const marker = randomUUID();
    const handle = await once(marker);
    expect(await takeAndDie(h)).toBe(handle.id);
    expect(ran.get(marker)).toBeUndefined();
    const rescuer = await startWorker(h.config);
    try {
      expect(await handle.result()).toBe(marker);
      expect(ran.get(marker)).toBe(1);
    } finally {
      await rescuer.close();
    }
  });

  it('fail for good, logged and reported, once they lost their worker more than async.max_stalled times', async () => {
    h = await startHarness({ async: { stalled_interval: 500, max_stalled: 0 }, worker: false });
    const reports: { error: KlueError; report: ErrorReport }[] = [];
    cleanups.push(addErrorReporter((error, report) => void reports.push({ error, report })));
    const marker = randomUUID();
    const handle = await once(marker);
    await takeAndDie(h);
    const rescuer = await startWorker(h.config);
    try {
      const seen = await waitFor(() => reports.find((r) => r.report.task?.jobId === handle.id), 20_000, 'the report');
      expect(seen.error.code).toBe('TASK_FAILED');
      expect(seen.error.message).toMatch(/^stalledOnce: its worker died while running it more than async.max_stalled \(0\) times/);
      expect(seen.report.task?.name).toBe('stalledOnce');
      const job = await h.rawQueue().getJob(handle.id);
      expect(await job?.getState()).toBe('failed');
      expect(job?.failedReason).toBe('job stalled more than allowable limit');
      expect(ran.get(marker)).toBeUndefined();
    } finally {
      await rescuer.close();
    }
  });
});
