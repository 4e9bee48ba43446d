import { describe, expect, it } from 'vitest';
import { testConfig } from '../../../test/helpers/config.js';
import { parseClusterNodes } from './redis-cluster.js';
import { parseRedisUrl, redisOptions, usesCluster } from './redis-connection.js';

describe('redis connection options', () => {
  it('parses redis, rediss and unix URLs', () => {
    expect(parseRedisUrl('redis://10.0.0.5:6380/2')).toMatchObject({ host: '10.0.0.5', port: 6380, db: 2 });
    expect(parseRedisUrl('rediss://user:p%40ss@cache.example.com')).toMatchObject({
      host: 'cache.example.com',
      port: 6379,
      username: 'user',
      password: 'p@ss',
      tls: { servername: 'cache.example.com' },
    });
    expect(parseRedisUrl('unix:///var/run/redis.sock?db=3&password=pw')).toMatchObject({ path: '/var/run/redis.sock', db: 3, password: 'pw' });
    expect(() => parseRedisUrl('http://x')).toThrow(/not a redis:\/\/, rediss:\/\/ or unix:\/\/ URL/);
  });

  it('fails fast for producers and waits for Redis in blocking roles', async () => {
    const config = await testConfig({ redis_url: 'redis://127.0.0.1:6399' });
    expect(redisOptions(config, 'producer')).toMatchObject({ enableOfflineQueue: false, maxRetriesPerRequest: 1, port: 6399 });
    expect(redisOptions(config, 'blocking')).toMatchObject({ maxRetriesPerRequest: null, port: 6399 });
  });

  it('reads Redis Cluster nodes as host:port or URLs, with TLS and password', async () => {
    const config = await testConfig({ redis_cluster: ['127.0.0.1:7000', 'rediss://:s3cret@10.0.0.2:7001'] });
    expect(usesCluster(config)).toBe(true);
    expect(parseClusterNodes(config)).toEqual({
      nodes: [{ host: '127.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7001 }],
      tls: true,
      password: 's3cret',
      username: undefined,
    });
    // Refused when the config loads, naming the entry, not only when Redis connects.
    await expect(testConfig({ redis_cluster: ['unix:///tmp/x.sock'] })).rejects.toThrow(/async\.redis_cluster\[0\]: .*only redis:\/\/ and rediss:\/\//);
  });
});
