import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnOwned } from './owned-process.js';

export interface PrivateRedis {
  url: string;
  port: number;
  dir: string;
  process: ChildProcess;
  /** Stops the server (SIGTERM, or SIGKILL when `hard`). */
  stop(hard?: boolean): Promise<void>;
  /** Stops it (SIGTERM, so the AOF is flushed) and starts it again on the same port and dir after `downtimeMs` (AOF data is kept when `aof` was on). */
  restart(downtimeMs?: number): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function launch(port: number, dir: string, aof: boolean): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir,
    '--appendonly', aof ? 'yes' : 'no', '--appendfsync', 'everysec', '--loglevel', 'warning'];
  const child = spawnOwned('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (b: Buffer) => {
      out += b.toString();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
    const deadline = Date.now() + 10_000;
    const probe = () => {
      const sock = createConnection(port);
      sock.once('connect', () => {
        sock.destroy();
        child.removeAllListeners('exit');
        resolve(child);
      });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() > deadline) reject(new Error(`redis-server did not listen on ${port}: ${out}`));
        else setTimeout(probe, 20);
      });
    };
    probe();
  });
}


/** Starts a private redis-server on a free port, without persistence unless `aof`. */
export async function startRedis(options: { aof?: boolean } = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'klue-redis-'));
  const aof = options.aof ?? false;
  const state: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    process: await launch(port, dir, aof),
    async stop(hard = false) {
      const child = state.process;
      if (child.exitCode !== null || child.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill(hard ? 'SIGKILL' : 'SIGTERM');
      });
    },
    async restart(downtimeMs = 0) {
      await state.stop();
      if (downtimeMs > 0) await new Promise((r) => setTimeout(r, downtimeMs));
      state.process = await launch(port, dir, aof);
    },
  };
  return state;
}

export async function stopAndClean(redis: PrivateRedis): Promise<void> {
  await redis.stop(true);
  rmSync(redis.dir, { recursive: true, force: true });
}
