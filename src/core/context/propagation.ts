import { AsyncLocalStorage } from 'node:async_hooks';
import { promiseHooks } from 'node:v8';

/**
 * How the context of a request or task follows the work it starts (`context_propagation`):
 * - `promises`: through `await` and promise chains (`then`, `Promise.all`...), by V8's promise
 *   hooks. A callback that a timer, `process.nextTick`, I/O or a callback-style API calls later
 *   runs outside any context unless it was wrapped with `bindContext()`.
 * - `async_hooks`: Node's AsyncLocalStorage, which also follows callbacks. Before Node 24 it is
 *   built on async_hooks, which every promise and every native resource of the process pays for.
 * - `auto`: `async_hooks` where Node builds AsyncLocalStorage on AsyncContextFrame (Node 24, or
 *   22.7+ with `--experimental-async-context-frame`), where it costs next to nothing; else `promises`.
 */
export type ContextPropagation = 'auto' | 'promises' | 'async_hooks';

interface Backend<T> {
  run<R>(store: T, fn: () => R): R;
  get(): T | undefined;
}

function alsBackend<T>(): Backend<T> {
  const als = new AsyncLocalStorage<T>();
  return { run: (store, fn) => als.run(store, fn), get: () => als.getStore() };
}

/**
 * The store that is current, kept in one variable: set by `run` for its synchronous part, and
 * around each promise reaction to what was current when that reaction's promise was made (the
 * derived promise of a `then`, the one V8 makes for an `await`). That is what AsyncLocalStorage
 * does for promises, without async_hooks' ids, resource stack and per-resource callbacks, which
 * on Node 20 and 22 cost a bare Fastify route a noticeable share of its requests per second
 * (`npm run bench` measures both as c' and c''; docs/benchmarks.md has the figures).
 */
function promiseBackend<T>(): Backend<T> {
  const STORE = Symbol('klue.context');
  type Tagged = Promise<unknown> & { [STORE]?: T };
  let current: T | undefined;
  const outer: (T | undefined)[] = [];
  let installed = false;
  const install = () => {
    installed = true;
    promiseHooks.createHook({
      init(promise: Tagged) {
        if (current !== undefined) promise[STORE] = current;
      },
      before(promise: Tagged) {
        outer.push(current);
        current = promise[STORE];
      },
      after() {
        current = outer.pop();
      },
    });
  };
  return {
    run(store, fn) {
      // Installed by the first run, as AsyncLocalStorage turns on async_hooks: a process that
      // never enters a context (a CLI command) keeps V8's fast promise paths.
      if (!installed) install();
      const previous = current;
      current = store;
      try {
        return fn();
      } finally {
        current = previous;
      }
    },
    get: () => current,
  };
}

/** True where Node builds AsyncLocalStorage on AsyncContextFrame rather than on async_hooks. */
export function nodeHasAsyncContextFrame(version = process.versions.node, flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)]): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major >= 24) return !flags.includes('--no-async-context-frame');
  if (major === 23 || (major === 22 && minor >= 7)) return flags.includes('--experimental-async-context-frame');
  return false;
}

/** What `auto` and the others come to on this Node. */
export function resolvePropagation(mode: ContextPropagation): 'promises' | 'async_hooks' {
  if (mode !== 'auto') return mode;
  return nodeHasAsyncContextFrame() ? 'async_hooks' : 'promises';
}

/**
 * One store per process, whose propagation can be chosen (`use`) before work runs in it. Making
 * both backends costs nothing: neither AsyncLocalStorage nor the promise hooks are turned on
 * until a store is first entered through it.
 */
export class ContextStorage<T> {
  private readonly backends: Record<'promises' | 'async_hooks', Backend<T>> = { promises: promiseBackend<T>(), async_hooks: alsBackend<T>() };
  private chosen: 'promises' | 'async_hooks';
  private backend: Backend<T>;

  constructor(mode: ContextPropagation = 'auto') {
    this.chosen = resolvePropagation(mode);
    this.backend = this.backends[this.chosen];
  }

  /** The propagation in force. */
  get propagation(): 'promises' | 'async_hooks' {
    return this.chosen;
  }

  /**
   * Chooses the propagation for what runs from now on. Work already running in a context keeps
   * the one it started with, so this belongs at start-up (loadService does it).
   */
  use(mode: ContextPropagation): void {
    this.chosen = resolvePropagation(mode);
    this.backend = this.backends[this.chosen];
  }

  run<R>(store: T, fn: () => R): R {
    return this.backend.run(store, fn);
  }

  getStore(): T | undefined {
    return this.backend.get();
  }
}
