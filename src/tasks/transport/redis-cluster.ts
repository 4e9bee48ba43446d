import { Cluster, type ClusterOptions } from 'ioredis';
import type { KlueConfig } from '../../core/config/config-types.js';
import { KlueError } from '../../core/errors/klue-error.js';
import { PRODUCER_CONNECT_TIMEOUT_MS, reconnectDelay } from './reconnect.js';
import type { ConnectionRole } from './redis-connection.js';

export interface ClusterNodeAddress {
  host: string;
  port: number;
}

/**
 * Parses `async.redis_cluster` entries: `host:port`, `redis://[:pass@]host:port` or
 * `rediss://...` (TLS). Every node must agree on TLS and credentials: they are one cluster.
 */
export function parseClusterNodes(config: Pick<KlueConfig, 'file' | 'async'>): { nodes: ClusterNodeAddress[]; tls: boolean; password?: string; username?: string } {
  const entries = config.async.redis_cluster ?? [];
  let tls = false;
  let password: string | undefined;
  let username: string | undefined;
  const nodes = entries.map((entry, i) => {
    const where = `${config.file}: async.redis_cluster[${i}]`;
    const url = /^[a-z]+:\/\//.test(entry) ? entry : `redis://${entry}`;
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new KlueError('CONFIG_INVALID', `${where}: '${entry}' is not host:port or a redis:// URL`);
    }
    if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
      throw new KlueError('CONFIG_INVALID', `${where}: '${entry}': only redis:// and rediss:// nodes can form a cluster`);
    }
    if (u.protocol === 'rediss:') tls = true;
    if (u.password) password = decodeURIComponent(u.password);
    if (u.username) username = decodeURIComponent(u.username);
    return { host: u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1', port: u.port ? Number(u.port) : 6379 };
  });
  return { nodes, tls, password, username };
}

/**
 * An ioredis Cluster client for one role. Producers fail fast when the cluster is away (no
 * offline queue); blocking clients (workers, queue events) and ledgers wait for it, as BullMQ
 * requires; a ledger's commands are auto-pipelined (per slot, as ioredis does on a cluster).
 * Every klue queue name is a hash tag (`{default}`), so each queue's keys — and so its Lua
 * scripts — sit on one slot, while different queues spread over the cluster.
 */
export function createCluster(config: Pick<KlueConfig, 'file' | 'async'>, role: ConnectionRole): Cluster {
  const { nodes, tls, password, username } = parseClusterNodes(config);
  const options: ClusterOptions = {
    enableOfflineQueue: role !== 'producer',
    enableReadyCheck: true,
    enableAutoPipelining: role === 'ledger',
    clusterRetryStrategy: reconnectDelay,
    redisOptions: {
      username,
      password,
      tls: tls ? {} : undefined,
      maxRetriesPerRequest: role === 'producer' ? 1 : null,
      connectTimeout: role === 'producer' ? PRODUCER_CONNECT_TIMEOUT_MS : 10_000,
    },
  };
  return new Cluster(nodes, options);
}
