import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startAsync, stopAsync } from '../../src/tasks/transport/runtime.js';
import { startWorker, type KlueWorker } from '../../src/tasks/run/worker.js';
import { loadConfig } from '../../src/core/config/load-config.js';
import { runInContext } from '../../src/core/context/context.js';
import { rootLogger } from '../../src/core/log/logger.js';
import { loadService } from '../../src/service/load-service.js';
import { copyService, helloworldDir, repoRoot, type ServiceDir } from '../helpers/service-dir.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
const env = { PYM_JWT_SECRET: 'queue-cli-secret' };
let svc: ServiceDir;
let worker: KlueWorker;

const klue = async (...args: string[]) =>
  (await run(process.execPath, [join(repoRoot, 'bin', 'klue.js'), ...args], { cwd: svc.dir, env: { ...process.env, ...env } })).stdout;

beforeAll(async () => {
  Object.assign(process.env, env);
  svc = copyService(helloworldDir, {
    async: { redis_url: inject('redisUrl'), queue: `qcli-${randomUUID()}`, secret: 'queue-cli-signing-secret-0123456789' },
  });
  const config = await loadConfig({ dir: svc.dir });
  await loadService(config);
  await startAsync(config, 'server');
  worker = await startWorker(config, { concurrency: 2 });
  const api = (await import(join(svc.dir, 'helloworld', 'api.ts'))) as typeof import('../../examples/helloworld/helloworld/api.js');
  await runInContext({ ctx: { request: { id: 'req-queue-cli', method: 'GET', url: '/asyncdie' }, user: { sub: 'ann' } }, log: rootLogger() }, async () => {
    await api.failingTask('one');
    await api.failingTask('two');
  });
}, 60_000);

afterAll(async () => {
  await worker?.close();
  await stopAsync();
  svc?.cleanup();
});

describe('operator CLI', () => {
  it('klue tasks lists the registered tasks with their options', async () => {
    const tasks = JSON.parse(await klue('tasks', '--json')) as { task: string; attempts: number; queue: string }[];
    expect(tasks).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ task: 'failingTask', attempts: 1, queue: 'default' }),
        expect.objectContaining({ task: 'writeCodeToFile', attempts: 3, queue: 'default' }),
      ]),
    );
  });

  it('klue queue failed shows id, task, error, attempts, request id and user', async () => {
    let failed: { id: string; task: string; error: string; attempts: number; requestId: string; user: string }[] = [];
    await waitFor(async () => {
      failed = JSON.parse(await klue('queue', 'failed', '--json', '--limit', '10')) as typeof failed;
      return failed.length === 2;
    }, 20_000, 'two failed tasks');
    for (const f of failed) {
      expect(f).toMatchObject({ task: 'failingTask', attempts: 1, requestId: 'req-queue-cli', user: 'ann' });
      expect(f.error).toMatch(/Task failed on purpose/);
    }
    const stats = JSON.parse(await klue('queue', 'stats', '--json')) as { queue: string; failed: number }[];
    expect(stats.find((s) => s.queue === 'default')?.failed).toBe(2);
    expect(await klue('queue', 'stats')).toMatch(/queue\s+waiting\s+active/);
  });

  it('klue queue retry runs a failed task again, then clean removes finished ones', async () => {
    const [first] = JSON.parse(await klue('queue', 'failed', '--json')) as { id: string }[];
    expect(await klue('queue', 'retry', first!.id)).toMatch(/retrying/);
    // it runs and fails again (the task always throws), not refused as a replay, and is back in the failed set
    const again = await waitFor(async () => {
      const f = JSON.parse(await klue('queue', 'failed', '--json')) as { id: string; attempts: number; error: string }[];
      return f.find((x) => x.id === first!.id && x.attempts === 2);
    }, 20_000, 'the retried task to fail again');
    expect(again.error).toMatch(/failed on purpose/);
    expect(await klue('queue', 'retry', '--all-failed')).toMatch(/retrying 2 failed/);
    const all = await waitFor(async () => {
      const f = JSON.parse(await klue('queue', 'failed', '--json')) as { attempts: number; error: string }[];
      return f.length === 2 && f.every((x) => x.attempts >= 2) ? f : undefined;
    }, 20_000, 'every retried task to fail again');
    for (const f of all) expect(f.error).toMatch(/failed on purpose/);
    expect(await klue('queue', 'clean', '--failed')).toMatch(/removed 2 task/);
    expect(JSON.parse(await klue('queue', 'failed', '--json'))).toEqual([]);
  });
});
