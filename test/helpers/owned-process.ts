import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';

/**
 * util-linux's setpriv (essential on Debian, so on every CI machine) can ask the kernel to kill a
 * child when its parent dies (prctl PR_SET_PDEATHSIG), then exec the command, which keeps setpriv's
 * pid: tests and benches kill and measure their Redis by that pid.
 */
const setpriv = spawnSync('setpriv', ['--pdeathsig', 'KILL', 'true']).status === 0;

/**
 * Spawns a helper server (redis-server, a sentinel) that dies with this process even when this
 * process is SIGKILLed or crashes, as a test run or bench stopped by a timeout is: otherwise each
 * such run leaves a server behind on a random port. Where setpriv is missing, a plain spawn.
 */
export function spawnOwned(command: string, args: string[], options: SpawnOptions): ChildProcess {
  return setpriv ? spawn('setpriv', ['--pdeathsig', 'KILL', command, ...args], options) : spawn(command, args, options);
}
