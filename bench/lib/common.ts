import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const benchDir = dirname(dirname(fileURLToPath(import.meta.url)));
export const repoRoot = dirname(benchDir);
export const fixtureDir = join(benchDir, 'fixture');
/**
 * tsx reads this instead of the repo's tsconfig.json, whose `paths` would map 'klue' to src/:
 * the fixture's `import 'klue'` then loads the built package (dist), as a user's service would.
 */
export const runtimeTsconfig = join(benchDir, 'lib', 'tsconfig.runtime.json');

/** The request body every HTTP run sends and every enqueue run passes to the task. */
export const ORDER = { id: 'ord-1234567890', qty: 3, items: ['apple', 'pear', 'plum'], note: 'leave it at the door' };

/** Job options klue gives a call with the default config, for the raw BullMQ side. */
export const RAW_JOB_OPTS = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 1000, jitter: 0.5 },
  removeOnComplete: { count: 100 },
  removeOnFail: { count: 5000 },
};
/** BullMQ prefix of the raw side (klue's is `klue:bench`). */
export const RAW_PREFIX = 'rawbench';
export const RAW_QUEUE = 'raw';

/** The body schema of POST /orders in the fixture's spec, for the bare Fastify routes. */
export function orderSchema(): Record<string, unknown> {
  const spec = parse(readFileSync(join(fixtureDir, 'apis', 'bench.yaml'), 'utf8')) as {
    paths: Record<string, { post: { parameters: { schema: Record<string, unknown> }[] } }>;
  };
  const schema = spec.paths['/orders']?.post.parameters[0]?.schema;
  if (!schema) throw new Error('bench.yaml: no body schema on POST /orders');
  return schema;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

export function summarize(values: number[]): { n: number; p50: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? NaN };
}

export function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The middle half of `values` (25th to 75th percentile, nearest rank): how far a median can be trusted. */
export function quartiles(values: number[]): [number, number] {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return [NaN, NaN];
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
  return [at(0.25), at(0.75)];
}

/** Resident set size of a process, in MB, from /proc. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return Math.round(kb / 102.4) / 10;
}

/** CPU seconds (user + system) a process used so far, from /proc. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command name.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Message {
  type: string;
  [key: string]: unknown;
}

/** A bench child process (node + tsx), talking JSON messages over IPC. */
export interface Child {
  proc: ChildProcess;
  pid: number;
  next(type: string, timeoutMs?: number): Promise<Message>;
  send(msg: Message): void;
  stop(): Promise<void>;
}

/** `execPath`: what runs the child instead of this node (a wrapper that execs node under a tool, say). */
export function spawnChild(script: string, args: unknown, env: NodeJS.ProcessEnv = {}, execArgv: string[] = [], execPath?: string): Child {
  const proc = fork(join(benchDir, 'children', script), [JSON.stringify(args)], {
    execPath,
    execArgv: ['--import', 'tsx', ...execArgv],
    env: { ...process.env, LOG_LEVEL: 'info', TSX_TSCONFIG_PATH: runtimeTsconfig, ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const inbox: Message[] = [];
  const waiting: { type: string; resolve(m: Message): void; reject(e: Error): void }[] = [];
  let exited = false;
  const exit = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.on('message', (m: Message) => {
    const i = waiting.findIndex((w) => w.type === m.type);
    if (i >= 0) waiting.splice(i, 1)[0]?.resolve(m);
    else inbox.push(m);
  });
  proc.once('exit', (code, signal) => {
    exited = true;
    for (const w of waiting.splice(0)) w.reject(new Error(`${script} exited (${signal ?? code}) before '${w.type}'`));
  });
  return {
    proc,
    pid: proc.pid ?? -1,
    next(type, timeoutMs = 600_000) {
      const i = inbox.findIndex((m) => m.type === type);
      if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0] as Message);
      if (exited) return Promise.reject(new Error(`${script} has exited; no '${type}'`));
      return awaitWithin<Message>(timeoutMs, `${script}: no '${type}' within ${timeoutMs} ms`, (w) => waiting.push({ type, ...w }));
    },
    send(msg) {
      proc.send(msg);
    },
    async stop() {
      if (exited) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** In a child: its JSON argument, and a typed send to the parent. */
export function childArgs<T>(): T {
  return JSON.parse(process.argv[2] ?? '{}') as T;
}

export function toParent(msg: Message): void {
  process.send?.(msg);
}

/**
 * A promise settled by whoever `register` hands its resolve/reject to (a list of waiters), or
 * rejected with `timeoutMessage` after `timeoutMs`.
 */
export function awaitWithin<T>(timeoutMs: number, timeoutMessage: string, register: (w: { resolve: (value: T) => void; reject: (err: Error) => void }) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(timeoutMessage)), timeoutMs);
    register({
      resolve: (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      reject: (err) => {
        clearTimeout(timer);
        reject(err);
      },
    });
  });
}
