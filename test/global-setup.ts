import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startRedis, stopAndClean, type PrivateRedis } from './helpers/redis.js';

let redis: PrivateRedis | undefined;

/** One private redis-server for the whole run; each test isolates itself with its own key prefix. */
export async function setup(project: TestProject): Promise<void> {
  redis = await startRedis();
  project.provide('redisUrl', redis.url);
}

export async function teardown(): Promise<void> {
  if (redis) await stopAndClean(redis);
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}
