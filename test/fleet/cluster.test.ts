import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAsync, stopAsync } from '../../src/tasks/transport/runtime.js';
import { loadConfig } from '../../src/core/config/load-config.js';
import { loadService } from '../../src/service/load-service.js';
import { isMsg, spawnKlue, type KlueProcess } from '../helpers/klue-process.js';
import { startCluster, type PrivateCluster } from '../helpers/redis-cluster.js';
import { copyService, repoRoot, type ServiceDir } from '../helpers/service-dir.js';
import { waitFor } from '../helpers/wait.js';

// A private 3-master Redis Cluster (AOF on): tasks on three queues, one master restarted mid-run.
const PER_QUEUE = 600;
let cluster: PrivateCluster;
let svc: ServiceDir;
let client: Cluster;
const workers: KlueProcess[] = [];
let ns: string;

type Fleet = typeof import('../fixtures/fleet/handlers/fleet.js');

beforeAll(async () => {
  cluster = await startCluster(3);
  ns = `cluster-${randomUUID()}`;
  svc = copyService(`${repoRoot}/test/fixtures/fleet`, {
    async: { redis_cluster: cluster.addresses, queue: ns, secret: 'cluster-signing-secret-0123456789abcd', attempts: 20, backoff: 200, stalled_interval: 5000 },
  });
  client = new Cluster(cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })));
  for (let i = 0; i < 2; i++) workers.push(spawnKlue(['worker'], { cwd: svc.dir }));
  await Promise.all(workers.map((w) => w.waitForLine(isMsg('async: worker serving'), 30_000, 'a worker')));
}, 120_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await stopAsync();
  client?.disconnect();
  await cluster?.stop();
  svc?.cleanup();
});

describe('Redis Cluster', () => {
  it('runs tasks on several queues over a 3-master cluster and loses none when a master restarts', async () => {
    const config = await loadConfig({ dir: svc.dir });
    await loadService(config);
    await startAsync(config, 'server');
    const fleet = (await import(join(svc.dir, 'handlers', 'fleet.ts'))) as Fleet;
    const calls: Promise<unknown>[] = [];
    for (let id = 0; id < PER_QUEUE; id++) calls.push(fleet.recordRun(id), fleet.resizeImage(id), fleet.sendEmail(id));
    await Promise.all(calls);

    // the three queues' keys live on more than one master
    const slots = await Promise.all(['default', 'images', 'emails'].map((q) => client.cluster('KEYSLOT', `klue:${ns}:{${q}}:wait`)));
    expect(new Set(slots).size).toBe(3);

    const runsKey = `fleet:{${ns}}:runs`;
    await waitFor(async () => (await client.hlen(runsKey)) > PER_QUEUE / 2, 60_000, 'some tasks to run');
    await cluster.restartNode(1, 1500);
    await waitFor(async () => (await client.hlen(runsKey)) === 3 * PER_QUEUE, 120_000, 'every task to run');
    const runs = Object.values(await client.hgetall(runsKey)).map(Number);
    const duplicates = runs.filter((n) => n > 1).length;
    // The figures show only when it fails: a passing test prints nothing.
    expect(runs, `ran=${runs.length} duplicates=${duplicates} slots=${slots.join(',')}`).toHaveLength(3 * PER_QUEUE);
  }, 240_000);
});
