import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { alive, isMsg, spawnKlue, type KlueProcess } from './klue-process.js';
import { freePort, startRedis, stopAndClean, type PrivateRedis } from './redis.js';
import { copyService, repoRoot, type ServiceDir } from './service-dir.js';

export const fixtureDir = join(repoRoot, 'test', 'faults', 'fixture');
export const SECRET = 'faults-signing-secret-0123456789abcdef';

/** Pids of the live processes whose parent is `ppid` (Linux /proc). */
export function childPids(ppid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/<pid>/stat, after the parenthesised command (which may hold spaces).
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid && fields[0] !== 'Z') pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** `ppid`'s children, their children, and so on. */
export function descendantPids(ppid: number): number[] {
  const out: number[] = [];
  const todo = [ppid];
  while (todo.length) {
    for (const child of childPids(todo.pop() ?? -1)) {
      out.push(child);
      todo.push(child);
    }
  }
  return out;
}

/** The command line of a live process, for messages. */
export function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '(gone)';
  }
}

// The fault tests take these from here with the rest of their helpers.
export { alive, isMsg };

/** A fault-suite service: its private Redis (AOF on), its folder, and the ledger its tasks write. */
export interface FaultService {
  redis: PrivateRedis;
  svc: ServiceDir;
  queue: string;
  /** A client of the private Redis for the test's own reads. */
  client: Redis;
  /** The BullMQ queue the service's tasks go to. */
  bull: Queue;
  /** Task id → number of runs. */
  runs(): Promise<Map<string, number>>;
  /** Jobs not yet finished: waiting, active, delayed, prioritized. */
  unfinished(): Promise<number>;
  /** Starts `klue start` with `workers` workers and waits until it listens and `serving` of them serve. */
  start(args?: string[], workers?: number, serving?: number): Promise<RunningKlue>;
  /** Starts a standalone `klue worker` and waits until it serves. */
  worker(args?: string[]): Promise<KlueProcess>;
  cleanup(): Promise<void>;
}

export interface RunningKlue {
  klue: KlueProcess;
  url: string;
  /** Every pid seen under `klue start` (children and theirs) so far, tracked every 100 ms. */
  seenChildren: Set<number>;
  /** Pids of the `klue worker` processes that logged they serve. */
  servingPids(): number[];
}

export async function faultService(asyncSection: Record<string, unknown> = {}): Promise<FaultService> {
  const redis = await startRedis({ aof: true });
  const queue = `faults-${randomUUID().slice(0, 8)}`;
  const svc = copyService(fixtureDir, { async: { redis_url: redis.url, queue, secret: SECRET, attempts: 3, backoff: 200, concurrency: 10, ...asyncSection } });
  const client = new Redis(redis.url, { maxRetriesPerRequest: null });
  const bull = new Queue('{default}', { connection: { url: redis.url, maxRetriesPerRequest: null }, prefix: `klue:${queue}` });
  bull.on('error', () => undefined);
  client.on('error', () => undefined);
  const procs: KlueProcess[] = [];
  const timers: NodeJS.Timeout[] = [];
  const waitServing = (p: KlueProcess, n: number) =>
    waitUntil(() => {
      if (p.child.exitCode !== null) throw new Error(`klue exited (${p.child.exitCode}):\n${p.lines.map((l) => JSON.stringify(l)).join('\n')}`);
      return servingLines(p).length >= n;
    }, 60_000, `${n} worker(s) to serve`);
  return {
    redis,
    svc,
    queue,
    client,
    bull,
    async runs() {
      const all = await client.hgetall(`faults:${queue}:runs`);
      return new Map(Object.entries(all).map(([k, v]) => [k, Number(v)]));
    },
    async unfinished() {
      const c = await bull.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'paused');
      return Object.values(c).reduce((a, b) => a + b, 0);
    },
    async start(args = [], workers = 1, serving = workers) {
      const port = await freePort();
      const klue = spawnKlue(['start', '--port', String(port), '--host', '127.0.0.1', '--workers', String(workers), ...args], { cwd: svc.dir });
      procs.push(klue);
      const seenChildren = new Set<number>();
      const pid = klue.child.pid ?? -1;
      timers.push(setInterval(() => descendantPids(pid).forEach((p) => seenChildren.add(p)), 100));
      await klue.waitForLine((l) => l.msg === 'faults listening', 60_000, 'the server to listen');
      if (serving > 0) await waitServing(klue, serving);
      return { klue, url: `http://127.0.0.1:${port}`, seenChildren, servingPids: () => servingLines(klue).map((l) => Number(l.pid)) };
    },
    async worker(args = []) {
      const w = spawnKlue(['worker', ...args], { cwd: svc.dir });
      procs.push(w);
      await waitServing(w, 1);
      return w;
    },
    async cleanup() {
      for (const t of timers) clearInterval(t);
      // Only what this suite spawned: its klue processes (which stop their own workers).
      await Promise.all(procs.map((p) => p.stop('SIGKILL')));
      for (const p of procs) for (const l of servingLines(p)) if (alive(Number(l.pid))) process.kill(Number(l.pid), 'SIGKILL');
      await bull.close().catch(() => undefined);
      client.disconnect();
      await stopAndClean(redis);
      svc.cleanup();
    },
  };
}

function servingLines(p: KlueProcess): Record<string, unknown>[] {
  return p.lines.filter((l): l is Record<string, unknown> => typeof l === 'object' && isMsg('async: worker serving')(l));
}

/** Polls `check` every 50 ms until true; fails after `ms` naming `what`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Seconds since `t0`, one decimal. */
export function secondsSince(t0: number): string {
  return ((Date.now() - t0) / 1000).toFixed(1);
}

/** Fetch with a wall-clock measure; a connection error is status 0. */
export async function timedFetch(url: string, init: RequestInit = {}): Promise<{ status: number; ms: number; body: unknown }> {
  const t0 = performance.now();
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
    const text = await res.text();
    return { status: res.status, ms: performance.now() - t0, body: text ? (JSON.parse(text) as unknown) : undefined };
  } catch {
    return { status: 0, ms: performance.now() - t0, body: undefined };
  }
}

export function post(url: string, body: unknown): Promise<{ status: number; ms: number; body: unknown }> {
  return timedFetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}
