import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { asynctask } from '../../src/tasks/index.js';
import { Queue } from 'bullmq';
import { bullQueueName, queuePrefix } from '../../src/tasks/transport/queue-names.js';
import { RECYCLE_EXIT_CODE } from '../../src/process/memory-watch.js';
import { startAsync, stopAsync } from '../../src/tasks/transport/runtime.js';
import { loadConfig } from '../../src/core/config/load-config.js';
import { inRequest, requestStore } from '../helpers/harness.js';
import { waitFor } from '../helpers/config.js';
import { freePort } from '../helpers/redis.js';

const src = (p: string) => fileURLToPath(new URL(`../../src/${p}`, import.meta.url));

/** The task as the service defines it; the test process only queues it, the worker process runs it. */
const TASK_MODULE = `
import { writeFileSync } from 'node:fs';
import { asynctask } from ${JSON.stringify(src('tasks/index.ts'))};
import { currentUser, currentRequest } from ${JSON.stringify(src('core/context/context.ts'))};
export const writeProof = asynctask(async function procWriteProof(file: string) {
  writeFileSync(file, JSON.stringify({ user: currentUser()?.sub, request: currentRequest()?.id, pid: process.pid }));
});
`;

/** Tasks of a service whose worker leaks: `leak` keeps what it allocates, `slowProof` takes a while. */
const LEAKY_MODULE = `
import { writeFileSync } from 'node:fs';
import { asynctask } from ${JSON.stringify(src('tasks/index.ts'))};
const kept: Buffer[] = [];
export const leak = asynctask(async function procLeak(mb: number) {
  kept.push(Buffer.alloc(mb * 1024 * 1024, 1));
});
export const slowProof = asynctask(async function procSlowProof(file: string, ms: number) {
  await new Promise((r) => setTimeout(r, ms));
  writeFileSync(file, String(process.pid));
});
`;

/** A throwaway service folder with one task module, and a script that runs its worker (with `options` besides its dir). */
function workerService(config: string, taskModule: string, options: Record<string, unknown> = {}): { dir: string; runner: string } {
  const dir = mkdtempSync(join(tmpdir(), 'klue-proc-'));
  mkdirSync(join(dir, 'apis'));
  mkdirSync(join(dir, 'tasks'));
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(dir, 'apis', 'svc.yaml'), 'swagger: "2.0"\ninfo: { title: proc, version: "1.0.0" }\npaths: {}\n');
  writeFileSync(join(dir, 'klue-config.yaml'), config);
  writeFileSync(join(dir, 'tasks', 'tasks.ts'), taskModule);
  const runner = join(dir, 'run-worker.ts');
  writeFileSync(runner, `import { runWorker } from ${JSON.stringify(src('process/worker-main.ts'))};\nprocess.exitCode = await runWorker(${JSON.stringify({ ...options, dir })});\n`);
  return { dir, runner };
}

describe('klue worker process (runWorker)', () => {
  let child: ChildProcess | undefined;
  afterEach(async () => {
    await stopAsync();
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  /** Runs a worker service's runner; `onOutput` sees all its output so far at each write. */
  function spawnWorker(runner: string, opts: { redisUrl?: string; ipc?: boolean; onOutput?: (out: string) => void } = {}) {
    // cwd: the repo, where `--import tsx` resolves; the service folder is given to runWorker.
    const proc = spawn(process.execPath, ['--import', 'tsx', runner], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: { ...process.env, REDIS_URL: opts.redisUrl ?? inject('redisUrl'), LOG_LEVEL: 'info' },
      stdio: opts.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => proc.once('exit', (code, signal) => resolve([code, signal])));
    let out = '';
    const onData = (b: Buffer) => {
      out += b.toString();
      opts.onOutput?.(out);
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    return { proc, exited, out: () => out };
  }

  it('loads the service and task modules, runs queued tasks as their user and exits 0 on SIGTERM', async () => {
    const { dir, runner } = workerService(`name: proc-${randomUUID()}\nwith_async: true\nasync:\n  modules: ['tasks/*.ts']\n`, TASK_MODULE);
    const worker = spawnWorker(runner);
    await waitFor(() => worker.out().includes('worker serving') || worker.proc.exitCode !== null, 20_000, 'the worker to start');
    expect(worker.out()).toContain('worker serving');
    const started = JSON.parse(worker.out().split('\n').find((l) => l.includes('worker serving')) ?? '{}') as { role?: string; tasks?: string[] };
    expect(started.role).toBe('worker');
    expect(started.tasks).toContain('procWriteProof');

    // The same service, seen from the server side: it queues what the worker process runs.
    const config = await loadConfig({ dir, overrides: { async: { redis_url: inject('redisUrl') } } });
    await startAsync(config, 'server');
    const writeProof = asynctask(async function procWriteProof(_file: string) {});
    const proof = join(dir, 'proof.json');
    await inRequest(requestStore({ user: { sub: 'ann' }, request: { id: 'req-proc', method: 'POST', url: '/' } }), () => writeProof(proof));
    await waitFor(() => existsSync(proof), 20_000, 'the worker process to run the task');
    expect(JSON.parse(readFileSync(proof, 'utf8'))).toMatchObject({ user: 'ann', request: 'req-proc', pid: worker.proc.pid });

    worker.proc.kill('SIGTERM');
    expect(await worker.exited).toEqual([0, null]);
  });

  it('stops gracefully on a SIGTERM that comes as soon as it serves, before its metrics server listens', async () => {
    const { runner } = workerService(`name: early-${randomUUID()}\nwith_async: true\nasync:\n  modules: ['tasks/*.ts']\n`, TASK_MODULE, { metricsPort: await freePort() });
    let sent = false;
    const worker = spawnWorker(runner, {
      // At the line the worker logs once it takes tasks: it used to listen for signals only after its metrics server started.
      onOutput: (out) => {
        if (!sent && out.includes('worker serving')) {
          sent = true;
          worker.proc.kill('SIGTERM');
        }
      },
    });
    expect(await worker.exited).toEqual([0, null]);
    expect(sent).toBe(true);
    expect(worker.out()).toContain('async: worker shutting down');
  });

  it('ends by a SIGTERM while it is still starting, holding no task (here: stuck on a Redis that is gone)', async () => {
    const { runner } = workerService(`name: stuck-${randomUUID()}\nwith_async: true\nasync:\n  modules: ['tasks/*.ts']\n`, TASK_MODULE);
    const worker = spawnWorker(runner, { redisUrl: `redis://127.0.0.1:${await freePort()}` });
    await waitFor(() => worker.out().includes('Redis does not answer yet') || worker.proc.exitCode !== null, 20_000, 'the worker to wait for Redis');
    // It listens for signals from before it takes tasks, and raises this one again: as without a listener.
    worker.proc.kill('SIGTERM');
    expect(await worker.exited).toEqual([null, 'SIGTERM']);
    expect(worker.out()).not.toContain('worker serving');
  });

  it('past async.max_memory_mb: stops taking tasks, finishes the active ones and exits to be replaced', async () => {
    const name = `leaky-${randomUUID()}`;
    const { dir, runner } = workerService(`name: ${name}\nwith_async: true\nasync:\n  modules: ['tasks/*.ts']\n  max_memory_mb: 400\n  concurrency: 2\n`, LEAKY_MODULE);
    const worker = spawnWorker(runner);
    await waitFor(() => worker.out().includes('worker serving') || worker.proc.exitCode !== null, 20_000, 'the worker to start');

    const config = await loadConfig({ dir, overrides: { async: { redis_url: inject('redisUrl') } } });
    await startAsync(config, 'server');
    const leak = asynctask(async function procLeak(_mb: number) {});
    const slowProof = asynctask(async function procSlowProof(_file: string, _ms: number) {});
    const proof = join(dir, 'slow.txt');
    // The slow task is active when the leak pushes the worker past its cap: it must still finish.
    const slow = await slowProof(proof, 3000);
    const queue = new Queue(bullQueueName('default'), { connection: { url: inject('redisUrl') }, prefix: queuePrefix(config) });
    try {
      await waitFor(async () => (await queue.getJobState(slow.id)) === 'active', 20_000, 'the slow task to start');
      await leak(500);
      expect(await worker.exited).toEqual([RECYCLE_EXIT_CODE, null]);
      expect(await queue.getJobState(slow.id)).toBe('completed');
    } finally {
      await queue.close();
    }
    expect(readFileSync(proof, 'utf8')).toBe(String(worker.proc.pid));
    const lines = worker.out().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg?: string; rss_mb?: number });
    const breach = lines.find((l) => l.msg?.includes('passed async.max_memory_mb'));
    expect(breach?.rss_mb).toBeGreaterThan(400);
    expect(lines.some((l) => l.msg === 'async: worker recycled')).toBe(true);
  });

  it('leaves at once when its supervisor goes while it is still starting (here: stuck on a Redis that is gone)', async () => {
    const { runner } = workerService(`name: orphan-${randomUUID()}\nwith_async: true\nasync:\n  modules: ['tasks/*.ts']\n`, TASK_MODULE);
    // Nothing listens there: start-up waits for Redis, as after a `klue start` killed with its Redis.
    const worker = spawnWorker(runner, { redisUrl: `redis://127.0.0.1:${await freePort()}`, ipc: true });
    await waitFor(() => worker.out().includes('Redis does not answer yet') || worker.proc.exitCode !== null, 20_000, 'the worker to wait for Redis');
    expect(worker.out()).not.toContain('worker serving');
    // What the supervisor's death looks like from the worker: its IPC channel closes.
    worker.proc.disconnect();
    expect(await worker.exited).toEqual([0, null]);
    expect(worker.out()).not.toContain('worker serving');
  });
});

