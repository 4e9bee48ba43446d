/**
 * Calls `fn` and gives its outcome as a promise, as an async function would, but without making
 * one: the promise `fn` returns is passed on as it is, and only a value or a synchronous throw is
 * wrapped. For code that runs once per request or per job, where each promise made costs.
 */
export function settled<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    // Promise.resolve gives a native promise back as it is.
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}
