import type { KlueConfig } from '../config/config-types.js';
import { rootLogger } from '../log/logger.js';
import { InlineRunner } from './inline-runner.js';
import { Producer } from './producer.js';
import { resolveSecret } from './secret.js';

/** The async machinery of this process, once `startAsync` ran. */
export interface AsyncRuntime {
  config: KlueConfig;
  role: 'server' | 'worker';
  secret: string;
  /** Set in `queue` mode. */
  producer?: Producer;
  /** Set in `inline` mode. */
  inline?: InlineRunner;
}

// Process-wide, so tasks defined against another copy of klue still find the runtime.
const KEY = Symbol.for('klue.async.runtime');
const STOPPED = Symbol.for('klue.async.stopped');
const holder = globalThis as unknown as Record<symbol, AsyncRuntime | undefined> & { [STOPPED]?: boolean };

export function getRuntime(): AsyncRuntime | undefined {
  return holder[KEY];
}

/**
 * True after `stopAsync`: the process was a server or worker and is shutting down, so a late
 * task call must fail rather than quietly run in-process as in a script.
 */
export function asyncStopped(): boolean {
  return holder[STOPPED] === true;
}

/** True once `startAsync` ran (server or worker); task calls are then queued, not run here. */
export function asyncStarted(): boolean {
  return holder[KEY] !== undefined;
}

/**
 * Makes task calls in this process go to Redis (`queue` mode) or to the in-process runner
 * (`inline` mode). Resolves the envelope secret first, so a production service without one
 * fails at start-up rather than at its first task call.
 */
export async function startAsync(config: KlueConfig, role: 'server' | 'worker'): Promise<void> {
  const current = holder[KEY];
  if (current) {
    if (current.config === config) return;
    throw new Error('klue async is already started in this process with another config; call stopAsync() first');
  }
  const secret = resolveSecret(config);
  const runtime: AsyncRuntime = { config, role, secret };
  if (config.async.mode === 'inline') {
    runtime.inline = new InlineRunner(config, secret);
  } else {
    const log = rootLogger();
    runtime.producer = new Producer(config, log);
    if (!(await runtime.producer.ready(2000))) {
      log.warn('async: Redis does not answer yet; task calls fail with ASYNC_UNAVAILABLE until it does');
    }
  }
  holder[KEY] = runtime;
  holder[STOPPED] = false;
}

/** Sends batched task calls, waits for inline runs, closes Redis connections. */
export async function stopAsync(): Promise<void> {
  const runtime = holder[KEY];
  if (!runtime) return;
  // Inline runs may queue more runs while draining; they must still find the runtime.
  await runtime.inline?.drain();
  holder[KEY] = undefined;
  holder[STOPPED] = true;
  await runtime.producer?.close();
}
