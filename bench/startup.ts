/**
 * Start-up, for `bench/run.ts --only=startup`: how long `klue start` (examples/helloworld) takes
 * to answer `GET /ping` and to have its worker serving, against a hand-written Fastify + BullMQ
 * service (children/bare-service.ts) started the same way; how long the CLI's one-shot commands
 * take; what `import('klue')` costs a handler module; what an idle klue worker keeps resident.
 * Every pair is interleaved (the order rotating each round, as run.ts does) after one warm-up
 * round that is not counted, so that both sides find the same files in the page cache. Every
 * process is started in a process group of its own, and the whole group is stopped (SIGTERM,
 * then SIGKILL) and seen gone before the next one starts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePort } from '../test/helpers/redis.js';
import { awaitWithin, benchDir, median, quartiles, repoRoot, rssMb, runtimeTsconfig, sleep } from './lib/common.js';

const exampleDir = join(repoRoot, 'examples', 'helloworld');
const klueBin = join(repoRoot, 'bin', 'klue.js');
const bareService = join(benchDir, 'children', 'bare-service.ts');
const bareWorker = join(benchDir, 'children', 'bare-worker.ts');
const DEADLINE_MS = 60_000;
const PING_EVERY_MS = 10;
const STOP_GRACE_MS = 10_000;
const KLUE_WORKER_LINE = /async: worker serving/;
const BARE_WORKER_LINE = /bare: worker ready/;

export const STARTUP_TARGETS = { pingRatio: 2, workerRatio: 2.5, cliMs: 600, importMs: 150, workerRssMb: 80 };

export interface PairedRatio {
  /** Median of the per-round ratios klue/bare. */
  median: number;
  /** Their middle half (25th-75th percentile). */
  middle: [number, number];
}

export interface ServiceRound {
  klue: { pingMs: number; workerMs: number; workerIdleRssMb: number; serverIdleRssMb: number; rssWaitMs: number };
  bare: { pingMs: number; workerMs: number; idleRssMb: number; rssWaitMs: number };
  /** bare-worker.ts: a BullMQ worker process alone, what a klue worker process is beside. */
  bareWorker: { idleRssMb: number };
}

export interface StartupResults {
  rounds: number;
  targets: typeof STARTUP_TARGETS;
  service: {
    rounds: ServiceRound[];
    medians: { klue: Record<keyof ServiceRound['klue'], number>; bare: Record<keyof ServiceRound['bare'], number>; bareWorker: Record<keyof ServiceRound['bareWorker'], number> };
    ratios: { ping: PairedRatio; worker: PairedRatio };
  };
  /** Wall ms from spawn to exit; `floor` is `node -e ''`. */
  cli: { rounds: Record<CliKey, number>[]; medians: Record<CliKey, number> };
  /** ms the child measured around its `await import(...)`. */
  imports: { rounds: Record<ImportKey, number>[]; medians: Record<ImportKey, number> };
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const round2 = (x: number) => Math.round(x * 100) / 100;
const rotate = <T>(xs: readonly T[], r: number): T[] => xs.map((_, i) => xs[(i + r) % xs.length] as T);

function pairedRatio(each: number[]): PairedRatio {
  const [lo, hi] = quartiles(each);
  return { median: round2(median(each)), middle: [round2(lo), round2(hi)] };
}

function env(): NodeJS.ProcessEnv {
  // Without REDIS_URL `klue start` would start a redis-server of its own: not what is measured.
  if (!process.env.REDIS_URL) throw new Error('bench/startup.ts: REDIS_URL is not set (run.ts sets it)');
  // TSX_TSCONFIG_PATH: the example's `import 'klue'` loads dist, as a user's service would, not
  // src/ through the repo tsconfig's `paths` (see bench/lib/common.ts). The bare side gets the same.
  return { ...process.env, PYM_JWT_SECRET: 'bench-secret', LOG_LEVEL: 'info', TSX_TSCONFIG_PATH: runtimeTsconfig };
}

// ---------------------------------------------------------------- process groups
interface Group {
  proc: ChildProcess;
  pid: number;
  /** performance.now() just before spawn. */
  t0: number;
  output: string[];
  exited: boolean;
  exit: Promise<number | null>;
  /** ms from spawn to the first output line (stdout or stderr) matching `re`. */
  line(re: RegExp, timeoutMs?: number): Promise<number>;
  /** SIGTERM to the group, SIGKILL after STOP_GRACE_MS; resolves once no process of it is left. */
  stop(): Promise<void>;
}

/** The groups running now, killed if this process exits without stopping them (an exception, Ctrl-C). */
const running = new Set<number>();
process.once('exit', () => {
  for (const pgid of running) groupKill(pgid, 'SIGKILL');
});

function groupKill(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

async function groupGone(pgid: number, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (groupKill(pgid, 0)) {
    if (performance.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

function startGroup(args: string[], cwd: string): Group {
  const watchers: { re: RegExp; resolve(ms: number): void; reject(e: Error): void }[] = [];
  const seen: { at: number; text: string }[] = [];
  const output: string[] = [];
  const t0 = performance.now();
  // detached: a process group of its own, so that the workers and the `klue types` child that
  // `klue start` spawns are stopped with it.
  const proc = spawn(process.execPath, args, { cwd, env: env(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = proc.pid ?? -1;
  running.add(pid);
  const onLine = (text: string) => {
    const at = performance.now() - t0;
    output.push(text);
    seen.push({ at, text });
    for (let i = watchers.length - 1; i >= 0; i--) {
      const w = watchers[i];
      if (w && w.re.test(text)) {
        watchers.splice(i, 1);
        w.resolve(at);
      }
    }
  };
  for (const stream of [proc.stdout, proc.stderr]) {
    let partial = '';
    stream?.on('data', (b: Buffer) => {
      const parts = (partial + b.toString()).split('\n');
      partial = parts.pop() ?? '';
      for (const p of parts) onLine(p);
    });
  }
  const group: Group = {
    proc,
    pid,
    t0,
    output,
    exited: false,
    exit: new Promise((resolve) =>
      proc.once('exit', (code) => {
        group.exited = true;
        for (const w of watchers.splice(0)) w.reject(new Error(`${args.join(' ')} exited (${code}) before a line matching ${w.re}; output:\n${output.slice(-20).join('\n')}`));
        resolve(code);
      }),
    ),
    line(re, timeoutMs = DEADLINE_MS) {
      const hit = seen.find((s) => re.test(s.text));
      if (hit) return Promise.resolve(hit.at);
      if (group.exited) return Promise.reject(new Error(`${args.join(' ')} has exited; no line matching ${re}`));
      return awaitWithin<number>(timeoutMs, `${args.join(' ')}: no line matching ${re} within ${timeoutMs} ms`, (w) => watchers.push({ re, ...w }));
    },
    async stop() {
      groupKill(pid, 'SIGTERM');
      if (!(await groupGone(pid, STOP_GRACE_MS))) {
        groupKill(pid, 'SIGKILL');
        if (!(await groupGone(pid, 5000))) throw new Error(`process group ${pid} (${args.join(' ')}) survived SIGKILL`);
      }
      await group.exit;
      running.delete(pid);
    },
  };
  return group;
}

// ---------------------------------------------------------------- 1. klue start vs bare, 4. RSS
function ping(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/ping', agent: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** ms from spawn to the first `GET /ping` answered 200, polling every PING_EVERY_MS. */
async function firstPing(group: Group, port: number): Promise<number> {
  const deadline = group.t0 + DEADLINE_MS;
  for (;;) {
    if (group.exited) throw new Error(`exited before answering GET /ping; output:\n${group.output.slice(-20).join('\n')}`);
    if ((await ping(port)) === 200) return performance.now() - group.t0;
    if (performance.now() > deadline) throw new Error(`GET /ping not 200 within ${DEADLINE_MS} ms`);
    await sleep(PING_EVERY_MS);
  }
}

function childPids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((t) => readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
  } catch {
    // Kernels without CONFIG_PROC_CHILDREN: the ppid field of every /proc/<pid>/stat.
    return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((p) => {
      try {
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    });
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** RSS once it has not grown for 2 s, or after 5 s, read every 100 ms. */
async function idleRss(pid: number): Promise<{ mb: number; waitedMs: number }> {
  const start = performance.now();
  let max = rssMb(pid);
  let grewAt = start;
  for (;;) {
    await sleep(100);
    const now = performance.now();
    const mb = rssMb(pid);
    if (mb > max) {
      max = mb;
      grewAt = now;
    }
    if (now - grewAt >= 2000 || now - start >= 5000) return { mb, waitedMs: Math.round(now - start) };
  }
}

async function klueStartRun(): Promise<ServiceRound['klue']> {
  const port = await freePort();
  const group = startGroup([klueBin, 'start', '--port', String(port), '--host', '127.0.0.1'], exampleDir);
  try {
    const [pingMs, workerMs] = await Promise.all([firstPing(group, port), group.line(KLUE_WORKER_LINE)]);
    const workerPid = childPids(group.pid).find((p) => cmdline(p).includes(' worker'));
    if (workerPid === undefined) throw new Error(`klue start (${group.pid}): no child process with ' worker' in its command line`);
    const worker = await idleRss(workerPid);
    return { pingMs: round1(pingMs), workerMs: round1(workerMs), workerIdleRssMb: worker.mb, serverIdleRssMb: rssMb(group.pid), rssWaitMs: worker.waitedMs };
  } finally {
    await group.stop();
  }
}

async function bareRun(): Promise<ServiceRound['bare']> {
  const port = await freePort();
  const group = startGroup(['--import', 'tsx', bareService, String(port)], exampleDir);
  try {
    const [pingMs, workerMs] = await Promise.all([firstPing(group, port), group.line(BARE_WORKER_LINE)]);
    // Server and worker in one process: this is both, not a worker alone.
    const rss = await idleRss(group.pid);
    return { pingMs: round1(pingMs), workerMs: round1(workerMs), idleRssMb: rss.mb, rssWaitMs: rss.waitedMs };
  } finally {
    await group.stop();
  }
}

async function bareWorkerRun(): Promise<ServiceRound['bareWorker']> {
  const group = startGroup(['--import', 'tsx', bareWorker], exampleDir);
  try {
    await group.line(BARE_WORKER_LINE);
    return { idleRssMb: (await idleRss(group.pid)).mb };
  } finally {
    await group.stop();
  }
}

// ---------------------------------------------------------------- 2. CLI, 3. imports
/** Wall ms from spawn to exit; throws on a non-zero exit. */
async function wallMs(args: string[]): Promise<number> {
  const group = startGroup(args, exampleDir);
  try {
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), DEADLINE_MS).unref());
    const code = await Promise.race([group.exit, timer]);
    const ms = performance.now() - group.t0;
    if (code === 'timeout') throw new Error(`${args.join(' ')}: still running after ${DEADLINE_MS} ms`);
    if (code !== 0) throw new Error(`${args.join(' ')} exited ${code}:\n${group.output.slice(-20).join('\n')}`);
    return round1(ms);
  } finally {
    await group.stop();
  }
}

const CLI = { token: [klueBin, 'token', '--user', 'bench'], tasks: [klueBin, 'tasks'], queueStats: [klueBin, 'queue', 'stats'], floor: ['-e', ''] } as const;
type CliKey = keyof typeof CLI;
const IMPORTS = { klue: 'klue', klueAsync: 'klue/async', fastify: 'fastify', bullmq: 'bullmq' } as const;
type ImportKey = keyof typeof IMPORTS;

async function importMs(specifier: string): Promise<number> {
  const group = startGroup(['--input-type=module', '-e', `const t=performance.now(); await import('${specifier}'); console.log(performance.now()-t)`], exampleDir);
  try {
    const code = await group.exit;
    const ms = Number(group.output.find((l) => l.trim() !== ''));
    if (code !== 0 || !Number.isFinite(ms)) throw new Error(`import('${specifier}') in ${exampleDir}: exit ${code}:\n${group.output.slice(-20).join('\n')}`);
    return round1(ms);
  } finally {
    await group.stop();
  }
}

async function interleaved<K extends string>(keys: readonly K[], rounds: number, run: (k: K) => Promise<number>, label: string): Promise<{ rounds: Record<K, number>[]; medians: Record<K, number> }> {
  for (const k of keys) await run(k); // warm-up, not counted
  const out: Record<K, number>[] = [];
  for (let r = 0; r < rounds; r++) {
    const round = {} as Record<K, number>;
    for (const k of rotate(keys, r)) round[k] = await run(k);
    out.push(round);
    process.stdout.write(`  startup ${label} round ${r + 1}: ${keys.map((k) => `${k} ${round[k]}`).join(', ')} ms\n`);
  }
  return { rounds: out, medians: Object.fromEntries(keys.map((k) => [k, round1(median(out.map((r) => r[k])))])) as Record<K, number> };
}

// ---------------------------------------------------------------- all of it
export async function measureStartup(opts: { rounds: number }): Promise<StartupResults> {
  const rounds = Math.max(5, opts.rounds);
  // 1 and 4: klue start and the bare service, in turns.
  await klueStartRun();
  await bareRun();
  const serviceRounds: ServiceRound[] = [];
  for (let r = 0; r < rounds; r++) {
    const round: Partial<ServiceRound> = {};
    for (const v of rotate(['klue', 'bare', 'bareWorker'] as const, r)) {
      if (v === 'klue') round.klue = await klueStartRun();
      else if (v === 'bare') round.bare = await bareRun();
      else round.bareWorker = await bareWorkerRun();
    }
    const { klue, bare, bareWorker } = round as ServiceRound;
    serviceRounds.push({ klue, bare, bareWorker });
    process.stdout.write(
      `  startup service round ${r + 1}: ping klue ${klue.pingMs} bare ${bare.pingMs} ms; worker klue ${klue.workerMs} bare ${bare.workerMs} ms; idle RSS klue worker ${klue.workerIdleRssMb} MB, bare worker ${bareWorker.idleRssMb} MB, bare server+worker ${bare.idleRssMb} MB\n`,
    );
  }
  const med = (pick: (r: ServiceRound) => number) => round1(median(serviceRounds.map(pick)));
  const service: StartupResults['service'] = {
    rounds: serviceRounds,
    medians: {
      klue: { pingMs: med((r) => r.klue.pingMs), workerMs: med((r) => r.klue.workerMs), workerIdleRssMb: med((r) => r.klue.workerIdleRssMb), serverIdleRssMb: med((r) => r.klue.serverIdleRssMb), rssWaitMs: med((r) => r.klue.rssWaitMs) },
      bare: { pingMs: med((r) => r.bare.pingMs), workerMs: med((r) => r.bare.workerMs), idleRssMb: med((r) => r.bare.idleRssMb), rssWaitMs: med((r) => r.bare.rssWaitMs) },
      bareWorker: { idleRssMb: med((r) => r.bareWorker.idleRssMb) },
    },
    ratios: {
      ping: pairedRatio(serviceRounds.map((r) => r.klue.pingMs / r.bare.pingMs)),
      worker: pairedRatio(serviceRounds.map((r) => r.klue.workerMs / r.bare.workerMs)),
    },
  };
  // 2: one-shot CLI commands against `node -e ''`.
  const cli = await interleaved(Object.keys(CLI) as CliKey[], rounds, (k) => wallMs([...CLI[k]]), 'cli');
  // 3: what a handler module's import costs, beside the libraries klue builds on.
  const imports = await interleaved(Object.keys(IMPORTS) as ImportKey[], rounds, (k) => importMs(IMPORTS[k]), 'import');
  return { rounds, targets: STARTUP_TARGETS, service, cli, imports };
}

/** Rows for run.ts's "Start-up (this machine)" table: what, klue, bare, ratio, target. */
export function startupRows(s: StartupResults): string[][] {
  const n = (x: number, digits = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '-');
  const met = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const paired = (p: PairedRatio) => `${n(p.median, 2)} (${n(p.middle[0], 2)}–${n(p.middle[1], 2)})`;
  const k = s.service.medians.klue;
  const b = s.service.medians.bare;
  const t = s.targets;
  const floor = s.cli.medians.floor;
  const cliRow = (label: string, key: CliKey): string[] => [label, n(s.cli.medians[key]), n(floor), n(s.cli.medians[key] / floor, 1), `< ${t.cliMs} ms: ${met(s.cli.medians[key] < t.cliMs)}`];
  const importRow = (label: string, key: ImportKey, bare: ImportKey): string[] => [label, n(s.imports.medians[key]), n(s.imports.medians[bare]), n(s.imports.medians[key] / s.imports.medians[bare], 1), `< ${t.importMs} ms: ${met(s.imports.medians[key] < t.importMs)}`];
  return [
    ['spawn -> GET /ping 200, ms (klue start · bare-service.ts)', n(k.pingMs), n(b.pingMs), paired(s.service.ratios.ping), `<= ${t.pingRatio}x: ${met(s.service.ratios.ping.median <= t.pingRatio)}`],
    ['spawn -> worker serving, ms', n(k.workerMs), n(b.workerMs), paired(s.service.ratios.worker), `<= ${t.workerRatio}x: ${met(s.service.ratios.worker.median <= t.workerRatio)}`],
    cliRow("klue token --user bench, ms (bare: node -e '')", 'token'),
    cliRow("klue tasks, ms (bare: node -e '')", 'tasks'),
    cliRow("klue queue stats, ms (bare: node -e '')", 'queueStats'),
    importRow("import('klue'), ms (bare: import('fastify'))", 'klue', 'fastify'),
    importRow("import('klue/async'), ms (bare: import('bullmq'))", 'klueAsync', 'bullmq'),
    [
      'idle RSS, MB (klue worker · bare-worker.ts; bare server+worker: ' + n(b.idleRssMb, 1) + ')',
      n(k.workerIdleRssMb, 1),
      n(s.service.medians.bareWorker.idleRssMb, 1),
      n(k.workerIdleRssMb / s.service.medians.bareWorker.idleRssMb, 2),
      `< ${t.workerRssMb} MB: ${met(k.workerIdleRssMb < t.workerRssMb)}`,
    ],
  ];
}
