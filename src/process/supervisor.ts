import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import type { KlueConfig } from '../core/config/config-types.js';
import { rootLogger } from '../core/log/logger.js';
import { metrics } from '../telemetry/metrics.js';
import { requestMetrics, type MetricsJson } from '../telemetry/worker-metrics-ipc.js';
import { klueBin } from './klue-bin.js';
import { RECYCLE_EXIT_CODE } from './memory-watch.js';

export interface SupervisorOptions {
  /** Worker processes to keep running. */
  count: number;
  /** Extra `klue worker` arguments, e.g. `['--env', 'prod']`. */
  args: string[];
  /** Environment added to this process' own for the workers. Default none. */
  env?: NodeJS.ProcessEnv;
  /** Called once when a worker keeps dying right after start; the caller should exit non-zero. Default: only logged. */
  onGiveUp?: (reason: string) => void;
  /** Script run by node for each worker, given `worker ...args`. Default: klue's `bin/klue.js`. */
  bin?: string;
  /** Delay before the first restart of a worker; doubles with each fast failure in a row, up to 30 s. Default 1000. */
  restartDelayMs?: number;
  /** Where worker stdout lines go. Default `process.stdout`. */
  stdout?: Writable;
  /** Where worker stderr lines go. Default `process.stderr`. */
  stderr?: Writable;
  /** Called once, when the first worker has started serving. Default none. */
  onServing?: () => void;
}

/** The IPC message a worker sends once it takes tasks. */
export const SERVING_MESSAGE = 'klue:serving';

export interface Supervisor {
  /** Pids of the workers running now. */
  pids(): number[];
  /** SIGTERMs each worker it started and waits for them (SIGKILL after `async.shutdown_timeout` + 5 s). */
  stop(): Promise<void>;
  /** Each running worker's Prometheus metrics, asked over IPC (for the server's `/metrics`). */
  collectMetrics(): Promise<MetricsJson[]>;
}

/** A worker that dies sooner than this after starting counts as a fast failure. */
const FAST_FAILURE_MS = 10_000;
const MAX_FAST_FAILURES = 5;
const MAX_RESTART_DELAY_MS = 30_000;
/**
 * Signals that come from outside (the kernel's OOM killer, an operator, an orchestrator), not
 * from a fault in the worker: such a worker is restarted after the base delay and never makes
 * the supervisor give up. Crashes (non-zero exits, SIGABRT, SIGSEGV...) count as failures.
 */
const EXTERNAL_SIGNALS: readonly string[] = ['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGHUP'];

interface Slot {
  n: number;
  child?: ChildProcess;
  startedAt: number;
  fastFailures: number;
  lastLines: string[];
  restartTimer?: NodeJS.Timeout;
}

function pipeLines(from: NodeJS.ReadableStream | null, to: Writable, slot: Slot): void {
  if (!from) return;
  createInterface({ input: from, crlfDelay: Infinity }).on('line', (line: string) => {
    slot.lastLines.push(line);
    if (slot.lastLines.length > 40) slot.lastLines.shift();
    // Worker logs are JSON lines already tagged "role":"worker"; a prefix would break them.
    const json = line.startsWith('{') && line.endsWith('}');
    to.write(json ? `${line}\n` : `[worker ${slot.n}] ${line}\n`);
  });
}

/**
 * What a dying worker said: from the CLI's `klue: ...` failure line when there is one (the
 * stack under it is noise), else its last lines.
 */
function lastWords(lines: string[]): string {
  const cli = lines.findLastIndex((l) => l.startsWith('klue: '));
  return (cli >= 0 ? lines.slice(cli, cli + 3) : lines.slice(-5)).join(' | ');
}

/**
 * Runs `count` `klue worker` processes for the service and restarts any that exits
 * unexpectedly: a recycled worker (memory cap) at once, a killed one after the base delay, a
 * failing one with exponential backoff, giving up after repeated fast failures. It only ever
 * signals the processes it spawned.
 */
export function startWorkers(config: KlueConfig, options: SupervisorOptions): Supervisor {
  const log = rootLogger();
  const m = metrics();
  const bin = options.bin ?? klueBin;
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  if (config.async.redis_url) env.REDIS_URL = config.async.redis_url;
  let stopping = false;
  let gaveUp = false;
  let served = false;
  const slots: Slot[] = Array.from({ length: options.count }, (_, i) => ({ n: i + 1, startedAt: 0, fastFailures: 0, lastLines: [] }));

  const giveUp = (slot: Slot, how: string) => {
    if (gaveUp) return;
    gaveUp = true;
    const reason = `worker ${slot.n} ${how} ${MAX_FAST_FAILURES} times in a row, each within ${FAST_FAILURE_MS / 1000} s of starting; last output: ${lastWords(slot.lastLines) || '(none)'}`;
    log.error({ reason }, 'async: giving up restarting workers');
    options.onGiveUp?.(reason);
  };

  const launch = (slot: Slot) => {
    slot.restartTimer = undefined;
    if (stopping || gaveUp) return;
    slot.startedAt = Date.now();
    // The IPC channel carries metric requests only; logs stay on stdout/stderr.
    const child = spawn(process.execPath, [bin, 'worker', ...options.args], { cwd: config.dir, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    slot.child = child;
    m.workersUp.inc();
    pipeLines(child.stdout, stdout, slot);
    pipeLines(child.stderr, stderr, slot);
    child.on('message', (m: unknown) => {
      if ((m as { type?: unknown } | null)?.type !== SERVING_MESSAGE || served) return;
      served = true;
      options.onServing?.();
    });
    let ended = false;
    const onEnd = (how: string, code: number | null, signal: string | null) => {
      if (ended) return;
      ended = true;
      slot.child = undefined;
      m.workersUp.dec();
      if (stopping) return;
      const base = options.restartDelayMs ?? 1000;
      if (code === RECYCLE_EXIT_CODE) {
        log.info({ worker: slot.n, pid: child.pid }, 'async: worker recycled (it passed async.max_memory_mb and finished its tasks); starting its replacement');
        m.workerRestarts.inc();
        slot.fastFailures = 0;
        return launch(slot);
      }
      if (signal !== null && EXTERNAL_SIGNALS.includes(signal)) {
        log.warn({ worker: slot.n, pid: child.pid, how, restart_in_ms: base }, 'async: worker was killed; restarting it (its active tasks run again after async.stalled_interval)');
        m.workerRestarts.inc();
        slot.restartTimer = setTimeout(() => launch(slot), base);
        return;
      }
      const lived = Date.now() - slot.startedAt;
      slot.fastFailures = lived < FAST_FAILURE_MS ? slot.fastFailures + 1 : 0;
      if (slot.fastFailures >= MAX_FAST_FAILURES) return giveUp(slot, how);
      const delay = Math.min(base * 2 ** Math.max(slot.fastFailures - 1, 0), MAX_RESTART_DELAY_MS);
      log.warn({ worker: slot.n, pid: child.pid, how, restart_in_ms: delay }, 'async: worker exited; restarting it');
      m.workerRestarts.inc();
      slot.restartTimer = setTimeout(() => launch(slot), delay);
    };
    child.once('error', (err) => onEnd(`could not start (${err.message})`, null, null));
    child.once('exit', (code, signal) => onEnd(signal ? `was killed by ${signal}` : `exited with code ${code}`, code, signal));
  };
  for (const slot of slots) launch(slot);

  return {
    pids: () => slots.flatMap((s) => (s.child?.pid !== undefined ? [s.child.pid] : [])),
    async collectMetrics() {
      const all = await Promise.all(slots.flatMap((s) => (s.child ? [requestMetrics(s.child)] : [])));
      return all.filter((x): x is MetricsJson => x !== undefined);
    },
    async stop() {
      stopping = true;
      await Promise.all(
        slots.map(async (slot) => {
          clearTimeout(slot.restartTimer);
          const child = slot.child;
          if (!child || child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), config.async.shutdown_timeout + 5000);
          await exited;
          clearTimeout(timer);
        }),
      );
    },
  };
}
