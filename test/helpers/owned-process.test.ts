import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startRedis, stopAndClean } from './redis.js';
import { waitFor } from './wait.js';

/** Running, not gone nor a zombie (a container's init may not reap what it inherits). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('private redis-server of a killed test process', () => {
  it('dies with it, even on SIGKILL', async () => {
    // A process like a test worker: starts a private Redis, prints its pid, then hangs until killed.
    const helpers = fileURLToPath(new URL('./redis.ts', import.meta.url));
    const script = `const { startRedis } = await import(${JSON.stringify(helpers)}); const r = await startRedis(); console.log(JSON.stringify({ pid: r.process.pid, dir: r.dir })); setInterval(() => {}, 1000);`;
    const owner = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const { pid, dir } = await new Promise<{ pid: number; dir: string }>((resolve, reject) => {
      owner.stdout.once('data', (b: Buffer) => resolve(JSON.parse(b.toString()) as { pid: number; dir: string }));
      owner.once('exit', (code) => reject(new Error(`owner exited with ${code}`)));
    });
    try {
      expect(alive(pid)).toBe(true);
      owner.kill('SIGKILL');
      await waitFor(() => !alive(pid), 5000, 'the private redis-server to go');
      expect(alive(pid)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the pid of redis-server itself, which tests kill and measure', async () => {
    const redis = await startRedis();
    try {
      const pid = redis.process.pid ?? -1;
      expect(readFileSync(`/proc/${pid}/comm`, 'utf8').trim()).toMatch(/^redis-server/);
    } finally {
      await stopAndClean(redis);
    }
  });
});
