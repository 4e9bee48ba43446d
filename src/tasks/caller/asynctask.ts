import { randomUUID } from 'node:crypto';
import { currentStore } from '../../core/context/context.js';
import { KlueError, KlueTypeError } from '../../core/errors/klue-error.js';
import { decodeValue, encodeValue } from '../envelope/codec.js';
import { asyncStopped, getRuntime } from '../transport/runtime.js';
import { checkOptions, prepareCall, taskDuration } from './task-call.js';
import { localHandle, queuedHandle } from './task-handle.js';
import { callingModule, checkWorkersLoad } from './worker-reach.js';
import { registerTask, type TaskDefinition } from '../registry.js';
import type { AsyncTask, CallOptions, TaskHandle, TaskOptions } from '../types.js';

const QUEUE_NAME = /^[A-Za-z0-9_.-]+$/;

function checkTaskOptions(name: string, options: TaskOptions): void {
  checkOptions(name, options);
  if (options.queue !== undefined && !QUEUE_NAME.test(options.queue)) {
    throw new KlueTypeError('TASK_OPTIONS_INVALID', `${name}: queue '${options.queue}' may only use letters, digits, '_', '.' and '-'`);
  }
  if (options.delay !== undefined) taskDuration(options.delay, `${name}: delay`);
  if (options.timeout !== undefined) taskDuration(options.timeout, `${name}: timeout`);
}

/** No async runtime (a script): run now, here, with the arguments a worker would have received. */
async function runHere<R>(def: TaskDefinition, args: unknown[]): Promise<TaskHandle<R>> {
  const copy = decodeValue(encodeValue(args, def.name, 'args')) as never[];
  const value: unknown = await def.fn(...copy);
  const done = Promise.resolve({ r: encodeValue(value, def.name, 'result', 'task results') });
  return localHandle<R>(def.name, def.options.queue ?? 'default', randomUUID(), false, done);
}

async function call<R>(def: TaskDefinition, callOptions: CallOptions, args: unknown[]): Promise<TaskHandle<R>> {
  const runtime = getRuntime();
  if (!runtime) {
    if (asyncStopped()) throw new KlueError('ASYNC_UNAVAILABLE', `${def.name}: the task queue is shut down (stopAsync ran); nothing was queued`);
    return runHere<R>(def, args);
  }
  const item = prepareCall(def, callOptions, args, runtime.config, runtime.secret);
  if (runtime.inline) {
    const job = runtime.inline.submit(item);
    return localHandle<R>(def.name, item.queue, job.id, job.duplicate, job.done);
  }
  checkWorkersLoad(def, runtime);
  const producer = runtime.producer;
  // Cannot happen: startAsync sets one of the two. Plain, as no user can cause it.
  if (!producer) throw new Error('klue async runtime has neither a producer nor an inline runner');
  const { id, duplicate } = await producer.enqueue(item);
  return queuedHandle<R>(producer, def.name, item.queue, id, duplicate);
}

/**
 * The promise of a task call made inside a request: it knows whether the handler observed it
 * (`await` and then/catch/finally all call `then`; `await` does so because this is not a plain
 * Promise), so that a failure the handler awaited and caught stays caught, while one nobody
 * awaited still fails the request.
 */
class TrackedCall<T> extends Promise<T> {
  observed = false;

  static override get [Symbol.species](): PromiseConstructor {
    return Promise;
  }

  override then<A = T, B = never>(onFulfilled?: ((value: T) => A | PromiseLike<A>) | null, onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    this.observed = true;
    return super.then(onFulfilled, onRejected);
  }
}

/** Starts a call and, inside a request, makes the response wait for it (a forgotten await loses nothing). */
function track<R>(promise: Promise<TaskHandle<R>>): Promise<TaskHandle<R>> {
  const store = currentStore();
  const pending = store?.pending;
  if (!store || !pending) return promise;
  pending.add(promise);
  const call = new TrackedCall<TaskHandle<R>>((resolve, reject) => {
    // A settled call leaves the set at once, so a request whose calls were all awaited has
    // nothing left to wait for. The rejection is handled here, which also keeps a forgotten
    // await from crashing the process; settlePending reports it unless the handler observed it.
    promise.then(
      (handle) => {
        pending.delete(promise);
        resolve(handle);
      },
      (err: unknown) => {
        pending.delete(promise);
        (store.failedCalls ??= []).push({ err, observed: () => call.observed });
        reject(err);
      },
    );
  });
  // Not an observation: the rejection must not be unhandled when nobody awaits the call.
  void Promise.prototype.then.call(call, undefined, () => undefined);
  return call;
}

/**
 * Makes `fn` a background task. Calling the result queues the call on Redis and resolves,
 * once Redis has it, with a TaskHandle; a worker then runs `fn` with the same arguments
 * (JSON values, Date, klue models) as the same user, request and trace.
 *
 * ```ts
 * export const sendEmail = asynctask(async function sendEmail(to: string, body: string) { ... });
 * await sendEmail('ann@example.com', 'Welcome!');
 * ```
 */
export function asynctask<A extends unknown[], R>(fn: (...args: A) => R): AsyncTask<A, Awaited<R>>;
export function asynctask<A extends unknown[], R>(options: TaskOptions, fn: (...args: A) => R): AsyncTask<A, Awaited<R>>;
export function asynctask<A extends unknown[], R>(
  optionsOrFn: TaskOptions | ((...args: A) => R),
  maybeFn?: (...args: A) => R,
): AsyncTask<A, Awaited<R>> {
  const options: TaskOptions = typeof optionsOrFn === 'function' ? {} : { ...optionsOrFn };
  const fn = typeof optionsOrFn === 'function' ? optionsOrFn : maybeFn;
  if (typeof fn !== 'function') throw new KlueTypeError('TASK_OPTIONS_INVALID', 'asynctask: expected a function, as asynctask(fn) or asynctask(options, fn)');
  const name = options.name ?? fn.name;
  if (!name) {
    throw new KlueTypeError(
      'TASK_OPTIONS_INVALID',
      'asynctask: the task function has no name; use a named function (async function sendEmail() {...}) or asynctask({ name: "sendEmail" }, fn)',
    );
  }
  checkTaskOptions(name, options);
  const def: TaskDefinition = { name, fn: fn, options: Object.freeze(options), module: callingModule(asynctask) };
  registerTask(def);

  const task = (...args: A) => track(call<Awaited<R>>(def, {}, args));
  const extras = {
    taskName: name,
    options: def.options,
    with: (callOptions: CallOptions) => (...args: A) => track(call<Awaited<R>>(def, { ...callOptions }, args)),
    now: async (...args: A): Promise<Awaited<R>> => await fn(...args),
  };
  return Object.assign(task, extras);
}
