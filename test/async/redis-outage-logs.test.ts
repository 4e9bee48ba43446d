import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { QueueAdmin } from '../../src/tasks/transport/queue-admin.js';
import { captureLogs, silenceLogs } from '../helpers/captured-logs.js';
import { startRedis, stopAndClean, type PrivateRedis } from '../helpers/redis.js';
import { testConfig, waitFor } from '../helpers/config.js';

let redis: PrivateRedis | undefined;
let admin: QueueAdmin | undefined;
afterEach(async () => {
  await admin?.close();
  if (redis) await stopAndClean(redis);
  silenceLogs();
  vi.restoreAllMocks();
});

describe('Redis outages in the logs', () => {
  it("the operator's queue view logs one JSON line when Redis goes and one when it is back, not ioredis' unhandled errors", async () => {
    redis = await startRedis();
    await redis.stop();
    const lines = captureLogs();
    const printed = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    admin = new QueueAdmin(await testConfig({ redis_url: redis.url }), 'producer');
    // Several failed attempts (each one an 'error' event of ioredis).
    const connection = (admin as unknown as { connection: Redis }).connection;
    let attempts = 0;
    connection.on('reconnecting', () => attempts++);
    await waitFor(() => attempts >= 3, 15_000, 'three reconnection attempts');
    await redis.restart();
    await waitFor(() => lines.some((l) => /reachable again/.test(l.msg)), 15_000, 'the line saying Redis is back');

    expect(printed).not.toHaveBeenCalled();
    const redisLines = lines.filter((l) => l.obj.redis === 'queue view');
    expect(redisLines.map((l) => [l.level, l.msg])).toEqual([
      [40, expect.stringMatching(/^async: Redis unreachable; queue counts .* until it is back$/)],
      [30, 'async: Redis reachable again'],
    ]);
    expect(redisLines[0]?.obj.err).toMatch(/ECONNREFUSED/);
  });
});
