import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { asynctask } from '../../src/tasks/index.js';
import { settlePending } from '../../src/tasks/caller/pending.js';
import { startAsync, stopAsync } from '../../src/tasks/transport/runtime.js';
import { KlueError } from '../../src/core/errors/klue-error.js';
import { freePort, startRedis, stopAndClean, type PrivateRedis } from '../helpers/redis.js';
import { testConfig } from '../helpers/config.js';
import { inRequest, requestStore } from '../helpers/harness.js';
import { failureOf } from '../helpers/failure.js';

const notify = asynctask(async function unavailableNotify(to: string) {
  return to;
});


function expectUnavailable(err: unknown): void {
  expect(err).toBeInstanceOf(KlueError);
  expect((err as KlueError).code).toBe('ASYNC_UNAVAILABLE');
  expect((err as KlueError).status).toBe(503);
}

describe('enqueue while Redis is unreachable', () => {
  let redis: PrivateRedis | undefined;
  afterEach(async () => {
    await stopAsync();
    if (redis) await stopAndClean(redis);
    redis = undefined;
  });

  it('fails with ASYNC_UNAVAILABLE when nothing listens on the Redis port', async () => {
    const config = await testConfig({ redis_url: `redis://127.0.0.1:${await freePort()}` });
    await startAsync(config, 'server');
    const store = requestStore({ request: { id: 'r1', method: 'POST', url: '/x' } });
    inRequest(store, () => {
      void notify('ann');
    });
    expectUnavailable(await failureOf(settlePending(store)));
    expectUnavailable(await failureOf(notify('bob')));
  });

  it('fails with ASYNC_UNAVAILABLE when Redis accepts the connection but never answers', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    try {
      const config = await testConfig({ redis_url: `redis://127.0.0.1:${port}` });
      await startAsync(config, 'server');
      const store = requestStore({});
      inRequest(store, () => {
        void notify('ann');
      });
      const err = await failureOf(settlePending(store));
      expectUnavailable(err);
      expect((err as Error).message).toMatch(/no answer within 2000 ms; the task call may not have been queued/);
    } finally {
      await stopAsync();
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('fails with ASYNC_UNAVAILABLE once Redis stopped, and works again when it is back', async () => {
    redis = await startRedis();
    const config = await testConfig({ redis_url: redis.url });
    await startAsync(config, 'server');
    expect((await notify(randomUUID())).duplicate).toBe(false);

    await redis.stop();
    const store = requestStore({});
    inRequest(store, () => {
      void notify('during outage');
    });
    expectUnavailable(await failureOf(settlePending(store)));

    await redis.restart();
    const handle = await (async () => {
      const deadline = Date.now() + 15_000;
      for (;;) {
        try {
          return await notify('after outage');
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    })();
    expect(handle.task).toBe('unavailableNotify');
  });
});
