import type { ContextStore } from '../../core/context/context.js';
import { KlueError } from '../../core/errors/klue-error.js';

const CONNECTION_ERROR = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EPIPE|Connection is closed|Stream isn't writeable|enableOfflineQueue|max retries per request|MaxRetriesPerRequest/i;

function asUnavailable(err: unknown): unknown {
  if (err instanceof KlueError) return err;
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  if (!CONNECTION_ERROR.test(message)) return err;
  return new KlueError('ASYNC_UNAVAILABLE', `Redis did not accept the task call (${message}); nothing was queued`, { cause: err });
}

/** The first failed call nobody observed: it fails the request. */
function unobservedFailure(store: ContextStore): { err: unknown } | undefined {
  return store.failedCalls?.find((f) => !f.observed());
}

/** True when a request has task calls still running, or one that failed and nobody observed. */
export function hasPending(store: ContextStore): boolean {
  return (store.pending?.size ?? 0) > 0 || unobservedFailure(store) !== undefined;
}

/**
 * Waits for every task call started during a request, including calls started while
 * waiting. Throws the first failure of a call the handler did not observe (never awaited,
 * no then/catch: a forgotten await loses nothing): ASYNC_UNAVAILABLE (503) when Redis did not
 * take the call, otherwise the error itself (a TypeError from a bad argument becomes a 500).
 * A call the handler awaited and caught is the handler's business.
 */
export async function settlePending(store: ContextStore): Promise<void> {
  const pending = store.pending;
  const seen = new Set<Promise<unknown>>();
  for (;;) {
    const batch = pending ? [...pending].filter((p) => !seen.has(p)) : [];
    if (batch.length === 0) break;
    for (const p of batch) seen.add(p);
    await Promise.allSettled(batch);
  }
  const failure = unobservedFailure(store);
  if (failure) throw asUnavailable(failure.err);
}
