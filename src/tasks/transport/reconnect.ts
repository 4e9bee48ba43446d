/** Ms a producer connection may take to connect: a request must get its 503 soon, not hang. */
export const PRODUCER_CONNECT_TIMEOUT_MS = 2000;

/**
 * Ms before reconnection attempt `times` (1, 2...): 200 ms doubling to 2 s, kept up in the
 * background so task calls work again as soon as Redis (or the cluster) is back.
 */
export function reconnectDelay(times: number): number {
  return Math.min(100 * 2 ** Math.min(times, 5), 2000);
}
