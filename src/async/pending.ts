import type { ContextStore } from '../context/context.js';
import { KlueError } from '../errors/klue-error.js';

const CONNECTION_ERROR = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EPIPE|Connection is closed|Stream isn't writeable|enableOfflineQueue|max retries per request|MaxRetriesPerRequest/i;

function asUnavailable(err: unknown): unknown {
  if (err instanceof KlueError) return err;
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  if (!CONNECTION_ERROR.test(message)) return err;
  return new KlueError('ASYNC_UNAVAILABLE', `Redis did not accept the task call (${message}); nothing was queued`, { cause: err });
}

/** True when a request has task calls still running, or one that failed. */
export function hasPending(store: ContextStore): boolean {
  return (store.pending?.size ?? 0) > 0 || store.pendingFailure !== undefined;
}

/**
 * Waits for every task call started during a request, including calls started while
 * waiting. Throws the first failure: ASYNC_UNAVAILABLE (503) when Redis did not take a call,
 * otherwise the error itself (a TypeError from a bad argument becomes a 500).
 */
export async function settlePending(store: ContextStore): Promise<void> {
  const pending = store.pending;
  const seen = new Set<Promise<unknown>>();
  for (;;) {
    const batch = pending ? [...pending].filter((p) => !seen.has(p)) : [];
    if (batch.length === 0) break;
    for (const p of batch) seen.add(p);
    const results = await Promise.allSettled(batch);
    for (const r of results) if (r.status === 'rejected') store.pendingFailure ??= { err: r.reason };
  }
  if (store.pendingFailure) throw asUnavailable(store.pendingFailure.err);
}
