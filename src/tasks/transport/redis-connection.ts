import { Redis, type Cluster, type RedisOptions } from 'ioredis';
import type { KlueConfig } from '../../core/config/config-types.js';
import { KlueError } from '../../core/errors/klue-error.js';
import { PRODUCER_CONNECT_TIMEOUT_MS, reconnectDelay } from './reconnect.js';
import { createCluster } from './redis-cluster.js';

/**
 * What a connection is for. `producer` fails fast when Redis is away (no offline queue, few
 * retries) so a request never hangs on it; `blocking` (workers, queue events) waits for Redis
 * to come back, as BullMQ requires (`maxRetriesPerRequest: null`); `ledger` (a worker's run
 * ledger) waits too, and sends the commands of one turn of the event loop as one pipeline
 * (ioredis's auto-pipelining): the claims of the jobs one reply of Redis handed out and the
 * finishes of the jobs it completed go out in one write, not a write each.
 */
export type ConnectionRole = 'producer' | 'blocking' | 'ledger';

/** The Redis URL in use: `async.redis_url`, else `REDIS_URL`. */
export function redisUrl(config: Pick<KlueConfig, 'file' | 'async'>): string {
  const url = config.async.redis_url ?? process.env.REDIS_URL;
  if (!url) {
    throw new KlueError('CONFIG_INVALID', `${config.file}: async.redis_url: not set (and no REDIS_URL); klue start embeds a Redis, other commands need one`);
  }
  return url;
}

/** Parses `redis://[user:pass@]host[:port][/db]`, `rediss://...` (TLS) or `unix:///path.sock[?db=N&password=P]`. */
export function parseRedisUrl(url: string, file = 'async.redis_url'): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new KlueError('CONFIG_INVALID', `${file}: '${url}' is not a redis://, rediss:// or unix:// URL`);
  }
  const password = u.password ? decodeURIComponent(u.password) : (u.searchParams.get('password') ?? undefined);
  const username = u.username ? decodeURIComponent(u.username) : undefined;
  const dbText = u.protocol === 'unix:' ? u.searchParams.get('db') : u.pathname.replace(/^\//, '');
  const db = dbText ? Number(dbText) : undefined;
  if (db !== undefined && !Number.isInteger(db)) {
    throw new KlueError('CONFIG_INVALID', `${file}: '${url}': database '${dbText}' is not a number`);
  }
  const common: RedisOptions = { username, password, db };
  switch (u.protocol) {
    case 'unix:':
      return { ...common, path: decodeURIComponent(u.pathname) };
    case 'redis:':
    case 'rediss:': {
      const host = u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
      const opts: RedisOptions = { ...common, host, port: u.port ? Number(u.port) : 6379 };
      if (u.protocol === 'rediss:') opts.tls = { servername: host };
      return opts;
    }
    default:
      throw new KlueError('CONFIG_INVALID', `${file}: '${url}' is not a redis://, rediss:// or unix:// URL`);
  }
}

/** ioredis options that reach the master through Redis Sentinel (`async.redis_sentinel`). */
export function sentinelOptions(config: Pick<KlueConfig, 'async'>): RedisOptions | undefined {
  const s = config.async.redis_sentinel;
  if (!s) return undefined;
  return {
    name: s.name,
    sentinels: s.sentinels.map((a) => {
      const i = a.lastIndexOf(':');
      return { host: a.slice(0, i), port: Number(a.slice(i + 1)) };
    }),
    password: s.password,
    sentinelPassword: s.sentinel_password,
    ...(s.tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
  };
}

/** ioredis options for one role. */
export function redisOptions(config: Pick<KlueConfig, 'file' | 'async'>, role: ConnectionRole): RedisOptions {
  const base = sentinelOptions(config) ?? parseRedisUrl(redisUrl(config), `${config.file}: async.redis_url`);
  if (role === 'blocking') return { ...base, maxRetriesPerRequest: null };
  if (role === 'ledger') return { ...base, maxRetriesPerRequest: null, enableAutoPipelining: true };
  return {
    ...base,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: PRODUCER_CONNECT_TIMEOUT_MS,
    // Keep retrying in the background (capped) so enqueues work again as soon as Redis is back.
    retryStrategy: reconnectDelay,
  };
}

/** True when the service talks to a Redis Cluster (`async.redis_cluster`). */
export function usesCluster(config: Pick<KlueConfig, 'async'>): boolean {
  return (config.async.redis_cluster?.length ?? 0) > 0;
}

/** A Redis client for one role: a Cluster client with `async.redis_cluster`, else a single-node one. */
export function createRedisConnection(config: Pick<KlueConfig, 'file' | 'async'>, role: ConnectionRole): Redis | Cluster {
  return usesCluster(config) ? createCluster(config, role) : new Redis(redisOptions(config, role));
}

/**
 * Hands out the `connection` for BullMQ constructors, and disconnects what it handed out that
 * BullMQ will not. On a single node each is options, so BullMQ makes and closes its own
 * clients. On a cluster BullMQ needs a client, which it leaves open: `disconnect()` closes
 * those, after the BullMQ objects are closed.
 */
export class BullConnections {
  private readonly clusters: Cluster[] = [];

  constructor(
    private readonly config: Pick<KlueConfig, 'file' | 'async'>,
    private readonly role: ConnectionRole,
  ) {}

  next(): RedisOptions | Cluster {
    if (!usesCluster(this.config)) return redisOptions(this.config, this.role);
    const cluster = createCluster(this.config, this.role);
    this.clusters.push(cluster);
    return cluster;
  }

  disconnect(): void {
    for (const c of this.clusters.splice(0)) c.disconnect();
  }
}
