import type { KlueConfig } from '../../core/config/config-types.js';
import { KlueError } from '../../core/errors/klue-error.js';
import { rootLogger } from '../../core/log/logger.js';
import { processSingleton } from '../../util/process-singleton.js';
import type { TaskResult } from '../envelope/codec.js';
import type { EnqueueItem, Producer } from './producer.js';
import { resolveSecret } from '../secret.js';
import { taskNames } from '../registry.js';

/** A call submitted to the in-process runner. */
export interface InlineJob {
  id: string;
  duplicate: boolean;
  done: Promise<TaskResult>;
}

/** The in-process runner of `inline` mode (run/inline-runner.ts), as the callers see it. */
export interface InlineRuns {
  submit(item: EnqueueItem): InlineJob;
  /** Waits for every run started so far (and those they start). */
  drain(): Promise<void>;
}

/** The async machinery of this process, once `startAsync` ran. */
export interface AsyncRuntime {
  config: KlueConfig;
  role: 'server' | 'worker';
  secret: string;
  /** Set in `queue` mode. */
  producer?: Producer;
  /** Set in `inline` mode. */
  inline?: InlineRuns;
  /**
   * Tasks registered when `startAsync` ran: by the modules the service loads at start-up
   * (handlers, setup), which its workers load too.
   */
  tasksAtStart: ReadonlySet<string>;
}

// Process-wide, so tasks defined against another copy of klue still find the runtime.
const current = processSingleton('klue.async.runtime', (): { runtime?: AsyncRuntime } => ({}));
const stopped = processSingleton('klue.async.stopped', () => ({ stopped: false }));

export function getRuntime(): AsyncRuntime | undefined {
  return current.runtime;
}

/**
 * True after `stopAsync`: the process was a server or worker and is shutting down, so a late
 * task call must fail rather than quietly run in-process as in a script.
 */
export function asyncStopped(): boolean {
  return stopped.stopped;
}

/** True once `startAsync` ran (server or worker); task calls are then queued, not run here. */
export function asyncStarted(): boolean {
  return current.runtime !== undefined;
}

/**
 * Makes task calls in this process go to Redis (`queue` mode) or to the in-process runner
 * (`inline` mode). Resolves the envelope secret first, so a production service without one
 * fails at start-up rather than at its first task call.
 */
export async function startAsync(config: KlueConfig, role: 'server' | 'worker'): Promise<void> {
  // The run side is loaded only here (what calls tasks does not depend on what runs them), and
  // first, so that in inline mode the check below and setting the runtime stay in one turn.
  const inline = config.async.mode === 'inline' ? await import('../run/inline-runner.js') : undefined;
  const started = current.runtime;
  if (started) {
    if (started.config === config) return;
    throw new KlueError('ASYNC_ALREADY_STARTED', `klue async is already started in this process with another config (${started.config.file}); call stopAsync() first`);
  }
  const secret = resolveSecret(config);
  const runtime: AsyncRuntime = { config, role, secret, tasksAtStart: new Set(taskNames()) };
  if (inline) {
    runtime.inline = new inline.InlineRunner(config, secret);
  } else {
    const log = rootLogger();
    // Loaded here: BullMQ and ioredis are for processes that queue, not for every `klue/async` import.
    const { Producer } = await import('./producer.js');
    runtime.producer = new Producer(config, log);
    if (!(await runtime.producer.ready(2000))) {
      log.warn('async: Redis does not answer yet; task calls fail with ASYNC_UNAVAILABLE until it does');
    }
  }
  current.runtime = runtime;
  stopped.stopped = false;
}

/** Sends batched task calls, waits for inline runs, closes Redis connections. */
export async function stopAsync(): Promise<void> {
  const runtime = current.runtime;
  if (!runtime) return;
  // Inline runs may queue more runs while draining; they must still find the runtime.
  await runtime.inline?.drain();
  current.runtime = undefined;
  stopped.stopped = true;
  await runtime.producer?.close();
}
