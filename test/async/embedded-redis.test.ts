import { mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { embeddedSocketPath, ensureRedis, type EmbeddedRedis } from '../../src/process/embedded-redis.js';
import type { KlueConfig } from '../../src/core/config/config-types.js';
import { loadConfig } from '../../src/core/config/load-config.js';
import { KlueError } from '../../src/core/errors/klue-error.js';

async function serviceConfig(dir = mkdtempSync(join(tmpdir(), 'klue-emb-'))): Promise<KlueConfig> {
  mkdirSync(join(dir, 'apis'), { recursive: true });
  writeFileSync(join(dir, 'apis', 'a.yaml'), 'swagger: "2.0"\n');
  writeFileSync(join(dir, 'klue-config.yaml'), 'name: embedded\nwith_async: true\n');
  return loadConfig({ dir });
}

describe('embedded redis', () => {
  const saved = { REDIS_URL: process.env.REDIS_URL, PATH: process.env.PATH };
  const started: EmbeddedRedis[] = [];
  beforeEach(() => {
    delete process.env.REDIS_URL;
  });
  afterEach(async () => {
    process.env.PATH = saved.PATH;
    if (saved.REDIS_URL !== undefined) process.env.REDIS_URL = saved.REDIS_URL;
    for (const r of started.splice(0)) await r.stop();
  });

  it('does nothing when a Redis is configured', async () => {
    const config = await serviceConfig();
    config.async.redis_url = 'redis://127.0.0.1:6379';
    expect(await ensureRedis(config)).toBeUndefined();
  });

  it('starts a private redis-server on a socket under .klue, keeps data across restarts and reuses a running one', async () => {
    const config = await serviceConfig();
    const redis = await ensureRedis(config);
    expect(redis).toBeDefined();
    if (!redis) return;
    started.push(redis);
    expect(redis.url).toBe(`unix://${join(config.dir, '.klue', 'redis.sock')}`);
    expect(config.async.redis_url).toBe(redis.url);
    const client = new Redis({ path: embeddedSocketPath(config.dir) });
    await client.set('k', 'kept');
    client.disconnect();

    const again = await serviceConfig(config.dir);
    const reused = await ensureRedis(again);
    expect(reused?.url).toBe(redis.url);
    await reused?.stop();

    await redis.stop();
    started.length = 0;
    const restarted = await ensureRedis(await serviceConfig(config.dir));
    if (restarted) started.push(restarted);
    const client2 = new Redis({ path: embeddedSocketPath(config.dir) });
    expect(await client2.get('k')).toBe('kept');
    client2.disconnect();
  });

  it('keeps its data files (every queued task) readable by their owner only, older ones too', async () => {
    const config = await serviceConfig();
    const data = join(config.dir, '.klue', 'redis');
    mkdirSync(data, { recursive: true, mode: 0o755 });
    writeFileSync(join(data, 'left-by-an-older-klue.aof'), 'x', { mode: 0o644 });
    const redis = await ensureRedis(config);
    if (redis) started.push(redis);
    const client = new Redis({ path: embeddedSocketPath(config.dir) });
    await client.set('k', 'a task');
    await client.bgrewriteaof();
    client.disconnect();
    const entries = readdirSync(join(config.dir, '.klue'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile() || e.isDirectory());
    expect(entries.some((e) => e.name.includes('.aof') && e.name !== 'left-by-an-older-klue.aof')).toBe(true);
    const open = [join(config.dir, '.klue'), ...entries.map((e) => join(e.parentPath, e.name))].filter((p) => (statSync(p).mode & 0o077) !== 0);
    expect(open).toEqual([]);
  });

  it('uses a short socket path when the service folder is deep', () => {
    const deep = join(tmpdir(), 'x'.repeat(120));
    const socket = embeddedSocketPath(deep);
    expect(socket.startsWith(tmpdir())).toBe(true);
    expect(socket.length).toBeLessThanOrEqual(100);
    expect(embeddedSocketPath(deep)).toBe(socket);
  });

  it('says how to install redis-server when it is missing', async () => {
    const config = await serviceConfig();
    process.env.PATH = '/nonexistent';
    let caught: unknown;
    try {
      await ensureRedis(config);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(KlueError);
    expect((caught as KlueError).code).toBe('REDIS_NOT_INSTALLED');
    expect((caught as KlueError).message).toBe(
      'redis-server not found: install it (Debian/Ubuntu: apt-get install -y redis-server; macOS: brew install redis) or set async.redis_url / REDIS_URL',
    );
    expect(config.async.redis_url).toBeUndefined();
  });
});
