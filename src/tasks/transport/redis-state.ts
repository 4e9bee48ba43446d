import type { Cluster, Redis } from 'ioredis';
import type { Logger } from '../../core/log/logger.js';

export interface RedisStateLines {
  /** What the connection is for, in the log lines (`task calls`, `queue gauges`...). */
  what: string;
  /** Said when Redis becomes unreachable: what fails until it is back. */
  meanwhile: string;
}

/** Whether a watched connection is down: between an error and the next `ready`. */
export interface RedisState {
  readonly down: boolean;
}

/**
 * Logs one structured line per change of a connection's state: unreachable at its first error,
 * reachable again at the `ready` after it. ioredis retries every couple of seconds and emits an
 * `error` each time; with no listener it prints each one as `[ioredis] Unhandled error event`
 * with a stack, which is not JSON and floods the logs for as long as Redis is away.
 */
export function watchRedisState(connection: Redis | Cluster, log: Logger, lines: RedisStateLines): RedisState {
  const state = { down: false };
  connection.on('error', (err: Error) => {
    if (!state.down) log.warn({ err: err.message, redis: lines.what }, `async: Redis unreachable; ${lines.meanwhile} until it is back`);
    state.down = true;
  });
  connection.on('ready', () => {
    if (state.down) log.info({ redis: lines.what }, 'async: Redis reachable again');
    state.down = false;
  });
  return state;
}
