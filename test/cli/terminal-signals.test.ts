import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { alive, isMsg, spawnKlue, type KlueProcess } from '../helpers/klue-process.js';
import { freePort } from '../helpers/redis.js';
import { copyService, helloworldDir, type ServiceDir } from '../helpers/service-dir.js';
import { getJson } from '../helpers/in-process.js';

/** The process group and command line of process `pid`. */
function processInfo(pid: number): { pgid: number; command: string } {
  const [pgid = '', ...command] = execFileSync('ps', ['-o', 'pgid=,args=', '-p', String(pid)], { encoding: 'utf8' }).trim().split(/\s+/);
  return { pgid: Number(pgid), command: command.join(' ') };
}

// What a terminal does: Ctrl-C sends SIGINT, a closed window SIGHUP, to the whole foreground
// process group: klue start, its workers, and (were it in the group) the embedded redis-server.
describe.each(['SIGINT', 'SIGHUP'] as const)('%s to the process group of klue start with the embedded Redis', (signal) => {
  let svc: ServiceDir | undefined;
  let klue: KlueProcess | undefined;
  let redisPid: number | undefined;
  afterEach(async () => {
    await klue?.stop('SIGKILL');
    // Out of klue's group, the embedded Redis of a failed run would outlive it.
    if (redisPid !== undefined && alive(redisPid)) process.kill(redisPid, 'SIGKILL');
    svc?.cleanup();
  });

  it('stops server, worker and Redis in order, with nothing logged as an error, and exits 0', async () => {
    svc = copyService(helloworldDir, { uuid_file_path: '/dev/null' });
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { PYM_JWT_SECRET: 'terminal-signals-secret', REDIS_URL: '' };
    klue = spawnKlue(['start', '--port', String(port), '--host', '127.0.0.1'], { cwd: svc.dir, env, detached: true });
    const started = await klue.waitForLine((l) => l.msg === 'async: started embedded redis-server', 30_000, 'the embedded Redis');
    redisPid = started.pid as number;
    // The worker loads while the server does: either may be ready first.
    await klue.waitForLine(isMsg('async: worker serving'), 30_000, 'the worker');
    await klue.waitForLine((l) => l.msg === 'hello listening', 30_000, 'the server');
    // A task queued just before the signal: a run that found Redis gone would log an error.
    expect((await getJson(`http://127.0.0.1:${port}/async`)).status).toBe(200);
    const klueStart = klue.child.pid!;
    const redis = processInfo(redisPid);
    expect(redis.command).toMatch(/redis-server/);
    expect(redis.pgid).not.toBe(klueStart);

    process.kill(-klueStart, signal);
    expect(await klue.exited).toBe(0);
    const errors = klue.lines.filter((l) => typeof l === 'object' && typeof l.level === 'number' && l.level >= 50);
    expect(errors).toEqual([]);
    expect(klue.lines).toContainEqual(expect.objectContaining({ msg: 'stopped', exit_code: 0 }));
    expect(alive(redisPid)).toBe(false);
    expect(existsSync(join(svc.dir, '.klue', 'redis.sock'))).toBe(false);
  }, 60_000);
});
