import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RECYCLE_EXIT_CODE } from '../../src/process/memory-watch.js';
import { startWorkers } from '../../src/process/supervisor.js';
import { metrics } from '../../src/telemetry/metrics.js';
import { testConfig, waitFor } from '../helpers/config.js';

/** Collects what the supervisor writes, line by line. */
function sink(): Writable & { lines: string[] } {
  const lines: string[] = [];
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return Object.assign(w, { lines });
}

async function restartsCounted(): Promise<number> {
  return (await metrics().workerRestarts.get()).values[0]?.value ?? 0;
}

function script(body: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'klue-sup-')), 'fake-worker.mjs');
  writeFileSync(file, body);
  return file;
}

/**
 * A fake worker whose first six runs end at once with `end` (a statement), counted in a temp
 * file; the seventh stays up until SIGTERM.
 */
function endsSixTimes(end: string): string {
  const counter = join(mkdtempSync(join(tmpdir(), 'klue-sup-')), 'runs');
  return script(`
      import { appendFileSync, readFileSync } from 'node:fs';
      appendFileSync(${JSON.stringify(counter)}, 'x');
      const run = readFileSync(${JSON.stringify(counter)}, 'utf8').length;
      console.log(JSON.stringify({ role: 'worker', run }));
      if (run <= 6) ${end};
      process.on('SIGTERM', () => process.exit(0));
      setInterval(() => {}, 1000);
    `);
}

describe('worker supervisor', () => {
  it('runs the workers with the worker command, passes JSON lines through and prefixes others', async () => {
    const config = await testConfig({ redis_url: 'redis://127.0.0.1:6379', shutdown_timeout: 1000 });
    // The handler first: the test stops the workers as soon as their lines are in, which can be
    // before a worker that wrote them has run its next statement.
    const bin = script(`
      process.on('SIGTERM', () => { console.log(JSON.stringify({ role: 'worker', msg: 'bye' })); process.exit(0); });
      console.log(JSON.stringify({ role: 'worker', argv: process.argv.slice(2), cwd: process.cwd(), redis: process.env.REDIS_URL }));
      console.error('plain text');
      setInterval(() => {}, 1000);
    `);
    const out = sink();
    const err = sink();
    const sup = startWorkers(config, { count: 2, args: ['--env', 'test'], bin, stdout: out, stderr: err });
    await waitFor(() => out.lines.length >= 2 && err.lines.length >= 2, 15_000, 'both workers to write');
    const started = out.lines.map((l) => JSON.parse(l) as { argv: string[]; cwd: string; redis: string });
    expect(started[0]).toEqual({ role: 'worker', argv: ['worker', '--env', 'test'], cwd: config.dir, redis: 'redis://127.0.0.1:6379' });
    expect(err.lines.sort()).toEqual(['[worker 1] plain text', '[worker 2] plain text']);
    const pids = sup.pids();
    expect(pids).toHaveLength(2);
    await sup.stop();
    expect(sup.pids()).toEqual([]);
    expect(out.lines.filter((l) => l.includes('bye'))).toHaveLength(2);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  });

  it('restarts a worker that dies and gives up after 5 fast failures in a row', async () => {
    const config = await testConfig({ redis_url: 'redis://127.0.0.1:6379' });
    const bin = script(`console.error('cannot connect to the moon'); process.exit(3);`);
    const err = sink();
    let reason: string | undefined;
    const sup = startWorkers(config, { count: 1, args: [], bin, stdout: sink(), stderr: err, restartDelayMs: 10, onGiveUp: (r) => (reason = r) });
    const why = await waitFor(() => reason, 20_000, 'the supervisor to give up');
    expect(why).toMatch(/^worker 1 exited with code 3 5 times in a row/);
    expect(why).toMatch(/cannot connect to the moon/);
    expect(err.lines.filter((l) => l === '[worker 1] cannot connect to the moon')).toHaveLength(5);
    await sup.stop();
  });

  it('replaces a recycled worker (memory cap) at once, counts the restart, and never gives up over it', async () => {
    const config = await testConfig({ redis_url: 'redis://127.0.0.1:6379' });
    // Six runs recycle themselves right after starting; the seventh stays up.
    const bin = endsSixTimes(`process.exit(${RECYCLE_EXIT_CODE})`);
    const out = sink();
    let reason: string | undefined;
    const before = await restartsCounted();
    // A restart delay longer than the test: only an immediate replacement can reach run 7.
    const sup = startWorkers(config, { count: 1, args: [], bin, stdout: out, stderr: sink(), restartDelayMs: 120_000, onGiveUp: (r) => (reason = r) });
    try {
      await waitFor(() => out.lines.some((l) => l.includes('"run":7')), 20_000, 'the seventh run');
      expect(reason).toBeUndefined();
      expect(sup.pids()).toHaveLength(1);
      expect((await restartsCounted()) - before).toBe(6);
    } finally {
      await sup.stop();
    }
  });

  it('restarts a worker killed from outside (SIGKILL) without counting it as a failure', async () => {
    const config = await testConfig({ redis_url: 'redis://127.0.0.1:6379' });
    // Like the OOM killer or an operator: each of the first six runs is SIGKILLed at once.
    const bin = endsSixTimes(`process.kill(process.pid, 'SIGKILL')`);
    const out = sink();
    let reason: string | undefined;
    const sup = startWorkers(config, { count: 1, args: [], bin, stdout: out, stderr: sink(), restartDelayMs: 10, onGiveUp: (r) => (reason = r) });
    try {
      await waitFor(() => out.lines.some((l) => l.includes('"run":7')), 20_000, 'the seventh run');
      expect(reason).toBeUndefined();
      expect(sup.pids()).toHaveLength(1);
    } finally {
      await sup.stop();
    }
  });

  it('counts a crash signal (SIGABRT) as a failure and gives up after 5 in a row', async () => {
    const config = await testConfig({ redis_url: 'redis://127.0.0.1:6379' });
    const bin = script(`process.kill(process.pid, 'SIGABRT');`);
    let reason: string | undefined;
    const sup = startWorkers(config, { count: 1, args: [], bin, stdout: sink(), stderr: sink(), restartDelayMs: 10, onGiveUp: (r) => (reason = r) });
    const why = await waitFor(() => reason, 20_000, 'the supervisor to give up');
    expect(why).toMatch(/^worker 1 was killed by SIGABRT 5 times in a row/);
    await sup.stop();
  });
});
