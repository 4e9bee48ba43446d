import type { KlueConfig } from '../../core/config/config-types.js';

/** The Redis key prefix of a service: two services on one Redis never share jobs. */
export function queuePrefix(config: Pick<KlueConfig, 'async'>): string {
  return `klue:${config.async.queue}`;
}

/** BullMQ queue name of a klue queue; the braces make it one Redis Cluster hash slot. */
export function bullQueueName(queue: string): string {
  return `{${queue}}`;
}
