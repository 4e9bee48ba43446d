import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { asynctask } from '../../src/tasks/index.js';
import { KlueBullWorker } from '../../src/tasks/run/bull-worker.js';
import { bullQueueName } from '../../src/tasks/transport/queue-names.js';
import { importTaskModules } from '../../src/service/task-modules.js';
import { getTask } from '../../src/tasks/registry.js';
import { startWorker } from '../../src/tasks/run/worker.js';
import { currentRequest, currentTask, currentUser, taskSignal } from '../../src/core/context/context.js';
import { KlueError } from '../../src/core/errors/klue-error.js';
import { waitFor } from '../helpers/config.js';
import { inRequest, requestStore, startHarness, type Harness } from '../helpers/harness.js';
import { failureOf } from '../helpers/failure.js';

const state = new Map<string, string>();
const releases = new Map<string, () => void>();

const slow = asynctask(async function lifecycleSlow(marker: string) {
  state.set(marker, 'started');
  await new Promise<void>((resolve) => releases.set(marker, resolve));
  state.set(marker, 'done');
  return 'finished';
});
const hangs = asynctask({ name: 'lifecycleHangs', timeout: '50ms', attempts: 1 }, async (marker: string) => {
  const signal = taskSignal();
  state.set(marker, signal ? 'has a signal' : 'no signal');
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 5000);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      state.set(marker, `aborted: ${(signal.reason as KlueError).code}`);
      resolve();
    });
  });
});
// Waits until its taskSignal() is aborted, and records why.
const stuck = asynctask(async function lifecycleStuck(marker: string) {
  const signal = taskSignal();
  state.set(marker, 'started');
  await new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve()));
  state.set(marker, `aborted: ${(signal?.reason as KlueError).code}`);
  return 'stopped';
});
const child = asynctask(async function lifecycleChild(marker: string) {
  state.set(marker, JSON.stringify({ user: currentUser()?.sub, request: currentRequest()?.id, parent: currentTask()?.name, signal: taskSignal()?.aborted }));
});
const parent = asynctask(async function lifecycleParent(marker: string) {
  const handle = await child(marker);
  return handle.id;
});
// Whether the startWorker() call of the test that queues it had returned when the task ran.
let startWorkerReturned = false;
const whenRun = asynctask(async function lifecycleWhenRun(marker: string) {
  state.set(marker, startWorkerReturned ? 'after startWorker returned' : 'before startWorker returned');
});
const report = asynctask({ name: 'lifecycleReport', queue: 'reports' }, async (marker: string) => {
  state.set(marker, 'reported');
});

describe('worker lifecycle', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    for (const release of releases.values()) release();
    await h?.stop();
    h = undefined;
  });

  it('lets an active task finish on close', async () => {
    h = await startHarness();
    const marker = randomUUID();
    const handle = await slow(marker);
    await waitFor(() => state.get(marker) === 'started');
    const closed = h.worker?.close();
    setTimeout(() => releases.get(marker)?.(), 50);
    await closed;
    expect(state.get(marker)).toBe('done');
    expect(await (await h.rawQueue().getJob(handle.id))?.getState()).toBe('completed');
  });

  /** Queues `task` under a worker with a 100 ms shutdown_timeout, and closes the worker while the task runs. */
  async function closeWhileRunning(task: (marker: string) => Promise<{ id: string }>): Promise<{ marker: string; handle: { id: string }; harness: Harness }> {
    const harness = (h = await startHarness({ async: { shutdown_timeout: 100 } }));
    const marker = randomUUID();
    const handle = await task(marker);
    await waitFor(() => state.get(marker) === 'started');
    await harness.worker?.close();
    return { marker, handle, harness };
  }

  it('after shutdown_timeout, puts unfinished jobs back in the queue and closes', async () => {
    const { marker, handle, harness } = await closeWhileRunning(slow);
    expect(state.get(marker)).toBe('started');
    expect(await (await harness.rawQueue().getJob(handle.id))?.getState()).toBe('waiting');
  });

  it('tells a run put back at shutdown through taskSignal(); how it then ends does not count', async () => {
    const { marker, handle, harness } = await closeWhileRunning(stuck);
    await waitFor(() => state.get(marker)?.startsWith('aborted'));
    expect(state.get(marker)).toBe('aborted: WORKER_SHUTDOWN');
    // The run returned once told, but its job stays in the queue, unused, for the next worker.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const job = await harness.rawQueue().getJob(handle.id);
    expect(await job?.getState()).toBe('waiting');
    expect(job?.attemptsMade).toBe(0);
    expect(job?.returnvalue ?? null).toBeNull();
  });

  it('fails a task that outlives its timeout with TASK_TIMEOUT', async () => {
    h = await startHarness();
    const marker = randomUUID();
    const handle = await hangs(marker);
    const caught = await failureOf(handle.result());
    // The code the worker raised crosses processes through the job's failed reason.
    expect((caught as KlueError).code).toBe('TASK_TIMEOUT');
    expect((caught as KlueError).message).toMatch(/^lifecycleHangs \(job [\w-]+\) failed: lifecycleHangs: still running after 50 ms \(timeout\)$/);
    // The task was told, through taskSignal(), and stopped waiting at once.
    expect(state.get(marker)).toBe('aborted: TASK_TIMEOUT');
  });

  it('lets a task queue tasks that run in the same user and request context', async () => {
    h = await startHarness();
    const marker = randomUUID();
    const handle = await inRequest(requestStore({ user: { sub: 'ann' }, request: { id: 'req-parent', method: 'POST', url: '/' } }), () => parent(marker));
    const childId = await handle.result<string>();
    expect(childId).not.toBe(handle.id);
    const seen = await waitFor(() => state.get(marker));
    // A task without a timeout has a signal too, not aborted.
    expect(JSON.parse(seen)).toEqual({ user: 'ann', request: 'req-parent', parent: 'lifecycleChild', signal: false });
  });

  it('serves the queues of registered tasks by default, or only those asked for', async () => {
    h = await startHarness({ worker: { queues: ['default'] } });
    expect(h.worker?.queues).toEqual(['default']);
    const marker = randomUUID();
    const handle = await report(marker);
    expect(handle.queue).toBe('reports');
    expect(await h.rawQueue('reports').getJobCounts('wait')).toMatchObject({ wait: 1 });
    const all = await startWorker(h.config);
    try {
      expect(all.queues).toEqual(['default', 'reports']);
      await handle.result();
      expect(state.get(marker)).toBe('reported');
    } finally {
      await all.close();
    }
  });

  it('takes no task before startWorker returns, even while another queue is still connecting', async () => {
    // `klue worker` shuts down gracefully on a signal only once startWorker has returned (before,
    // the signal ends it): a task taken earlier would be left to the stalled check.
    const ready = KlueBullWorker.prototype.waitUntilReady;
    const slowReports = vi.spyOn(KlueBullWorker.prototype, 'waitUntilReady').mockImplementation(async function (this: KlueBullWorker) {
      const client = await ready.call(this);
      if (this.name === bullQueueName('reports')) await new Promise((resolve) => setTimeout(resolve, 300));
      return client;
    });
    try {
      h = await startHarness({ worker: false });
      const marker = randomUUID();
      const handle = await whenRun(marker);
      startWorkerReturned = false;
      const worker = await startWorker(h.config);
      startWorkerReturned = true;
      try {
        expect(worker.queues).toEqual(['default', 'reports']);
        await handle.result();
        expect(state.get(marker)).toBe('after startWorker returned');
      } finally {
        await worker.close();
      }
    } finally {
      slowReports.mockRestore();
    }
  });
});

describe('task modules', () => {
  it('imports every module matched by async.modules', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'klue-mods-'));
    mkdirSync(join(dir, 'tasks'));
    const index = fileURLToPath(new URL('../../src/tasks/index.ts', import.meta.url));
    writeFileSync(
      join(dir, 'tasks', 'mail.ts'),
      `import { asynctask } from ${JSON.stringify(index)};\nexport const t = asynctask(async function modulesMailTask() { return 1; });\n`,
    );
    writeFileSync(join(dir, 'tasks', 'notes.txt'), 'not a module');
    const files = await importTaskModules({ dir, async: { modules: ['tasks/*.ts'] } as never });
    expect(files).toEqual([join(dir, 'tasks', 'mail.ts')]);
    expect(getTask('modulesMailTask')?.name).toBe('modulesMailTask');
  });
});
