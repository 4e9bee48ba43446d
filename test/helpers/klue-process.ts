import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './service-dir.js';
import { waitFor } from './wait.js';

export interface KlueProcess {
  child: ChildProcess;
  /** stdout/stderr lines, JSON-parsed when they are JSON. */
  lines: (Record<string, unknown> | string)[];
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  waitForLine(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number, what?: string): Promise<Record<string, unknown>>;
  /** Sends a signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/**
 * Runs the real `klue` CLI (bin/klue.js, built dist) in a service folder. `detached` gives it a
 * process group of its own, so a test can signal the group as a terminal's Ctrl-C does.
 */
export function spawnKlue(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; detached?: boolean }): KlueProcess {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'klue.js'), ...args], {
    cwd: options.cwd,
    env: { ...process.env, LOG_LEVEL: 'info', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached,
  });
  const lines: (Record<string, unknown> | string)[] = [];
  const collect = (stream: NodeJS.ReadableStream | null) => {
    let buf = '';
    stream?.on('data', (b: Buffer) => {
      buf += b.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (!line.trim()) continue;
        try {
          lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          lines.push(line);
        }
      }
    });
  };
  collect(child.stdout);
  collect(child.stderr);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  const proc: KlueProcess = {
    child,
    lines,
    exited,
    async waitForLine(match, timeoutMs = 20_000, what = 'a log line') {
      let found: Record<string, unknown> | undefined;
      await waitFor(() => {
        found = lines.find((l): l is Record<string, unknown> => typeof l === 'object' && match(l));
        if (!found && child.exitCode !== null) throw new Error(`klue exited (${child.exitCode}) before ${what}:\n${lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n')}`);
        return found !== undefined;
      }, timeoutMs, what);
      return found!;
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  return proc;
}

/** Whether process `pid` is still running. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Matches a JSON log line whose message starts with `prefix`, for waitForLine. */
export function isMsg(prefix: string): (l: Record<string, unknown>) => boolean {
  return (l) => typeof l.msg === 'string' && l.msg.startsWith(prefix);
}
