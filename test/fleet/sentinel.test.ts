import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asynctask } from '../../src/tasks/caller/asynctask.js';
import { startAsync, stopAsync } from '../../src/tasks/transport/runtime.js';
import { startWorker, type KlueWorker } from '../../src/tasks/run/worker.js';
import { testConfig } from '../helpers/config.js';
import { spawnOwned } from '../helpers/owned-process.js';
import { freePort, startRedis, stopAndClean, type PrivateRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

// A private master watched by a real redis-sentinel: klue finds the master through the sentinel.
let master: PrivateRedis;
let sentinel: ChildProcess;
let dir: string;
let worker: KlueWorker;
const ran: string[] = [];

const viaSentinel = asynctask(async function viaSentinel(word: string) {
  ran.push(word);
});

beforeAll(async () => {
  master = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'klue-sentinel-'));
  const port = await freePort();
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(conf, `port ${port}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor klue-master 127.0.0.1 ${master.port} 1\n`);
  sentinel = spawnOwned('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  const config = await testConfig({ redis_sentinel: { name: 'klue-master', sentinels: [`127.0.0.1:${port}`] } });
  await waitFor(async () => {
    try {
      await startAsync(config, 'server');
      return true;
    } catch {
      return false;
    }
  }, 15_000, 'the sentinel to answer');
  worker = await startWorker(config, {});
}, 30_000);

afterAll(async () => {
  await worker?.close();
  await stopAsync();
  sentinel?.kill('SIGTERM');
  if (master) await stopAndClean(master);
  rmSync(dir, { recursive: true, force: true });
});

describe('Redis Sentinel', () => {
  it('queues and runs tasks on the master the sentinel names', async () => {
    const handle = await viaSentinel('hello');
    await waitFor(() => ran.includes('hello'), 15_000, 'the task to run');
    expect(handle.duplicate).toBe(false);
  });
});
