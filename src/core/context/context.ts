import type { Logger } from 'pino';
import { ContextStorage, type ContextPropagation } from './propagation.js';
import { processSingleton } from '../../util/process-singleton.js';

/** Claims of a verified JWT (`sub` is the user id). */
export interface UserClaims {
  sub?: string;
  iss?: string;
  aud?: string | string[];
  exp?: number;
  iat?: number;
  [claim: string]: unknown;
}

/** What klue knows of the HTTP request that started the current work. */
export interface RequestInfo {
  /** From the `X-Request-Id` header, or generated; echoed in the response. */
  id: string;
  method: string;
  url: string;
}

/** Set while a task runs in a worker. */
export interface TaskInfo {
  name: string;
  jobId: string;
  attempt: number;
}

/**
 * The context of a unit of work: one plain, JSON-serialisable value. The async subsystem
 * sends exactly this value to the worker, which runs the task inside it.
 */
export interface KlueContext {
  user?: UserClaims;
  token?: string;
  request?: RequestInfo;
  /** W3C trace context headers (`traceparent`, `tracestate`) of the span that was current. */
  trace?: Record<string, string>;
  task?: TaskInfo;
}

/** Per-execution state that is not sent anywhere: the bound logger and unfinished work. */
export interface ContextStore {
  ctx: KlueContext;
  log: Logger;
  /** Enqueues started during a request and not settled yet; the response waits for them. */
  pending?: Set<Promise<unknown>>;
  /**
   * Those enqueues that failed, each with whether the handler observed its promise (awaited it,
   * or called then/catch on it): a failure the handler observed is the handler's to handle.
   */
  failedCalls?: { err: unknown; observed(): boolean }[];
  /** In a task run: aborted when the run passes its timeout or its worker gives it up at shutdown. */
  readonly signal?: AbortSignal;
}

// One instance per process even if klue is loaded twice (dist and source, or two copies
// in node_modules): otherwise a task defined against one copy would not see the context.
export const contextStorage = processSingleton('klue.context.storage', () => new ContextStorage<ContextStore>());

/** Sets how contexts follow the work they start (`context_propagation`); loadService does it. */
export function useContextPropagation(mode: ContextPropagation): void {
  contextStorage.use(mode);
}

export function runInContext<T>(store: ContextStore, fn: () => T): T {
  return contextStorage.run(store, fn);
}

/**
 * Wraps `fn` so that it runs in the context current now, wherever it is called from later: for
 * callbacks that timers, `process.nextTick`, I/O or callback-style APIs call, which the default
 * propagation on Node 20 and 22 (`promises`) does not follow. Outside any context, `fn` itself.
 *
 * @example setTimeout(bindContext(() => sendReminder(currentUser()?.sub)), 60_000);
 */
export function bindContext<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
  const store = contextStorage.getStore();
  if (!store) return fn;
  return (...args: A) => contextStorage.run(store, () => fn(...args));
}

export function currentStore(): ContextStore | undefined {
  return contextStorage.getStore();
}

export function currentContext(): KlueContext | undefined {
  return contextStorage.getStore()?.ctx;
}

/** The verified JWT claims of the current request (or of the request that queued the task). */
export function currentUser(): UserClaims | undefined {
  return contextStorage.getStore()?.ctx.user;
}

/** The raw bearer token of the current request, if any. */
export function currentToken(): string | undefined {
  return contextStorage.getStore()?.ctx.token;
}

/** Request id, method and URL of the current request (or of the request that queued the task). */
export function currentRequest(): RequestInfo | undefined {
  return contextStorage.getStore()?.ctx.request;
}

/** Task name, job id and attempt when called inside a task. */
export function currentTask(): TaskInfo | undefined {
  return contextStorage.getStore()?.ctx.task;
}

/**
 * Inside a task run: a signal aborted when the run stops counting, with a KlueError as its reason:
 * - `TASK_TIMEOUT` when the run passes its `timeout` (the run has failed by then, and may be retried);
 * - `WORKER_SHUTDOWN` when a stopping worker, past `async.shutdown_timeout`, has put the run's job
 *   back in the queue for another worker.
 * JavaScript cannot stop a function, so pass the signal to what the task waits on
 * (`fetch(url, { signal })`, streams, your own checks) for the task to stop rather than run on
 * unobserved. Undefined outside tasks. Made on first call: runs that never ask pay nothing.
 */
export function taskSignal(): AbortSignal | undefined {
  return contextStorage.getStore()?.signal;
}
