import { execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { spawnOwned } from './owned-process.js';
import { freePort } from './redis.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);

export interface ClusterNode {
  port: number;
  dir: string;
  process: ChildProcess;
}

export interface PrivateCluster {
  nodes: ClusterNode[];
  /** `host:port` of every master, as `async.redis_cluster` takes them. */
  addresses: string[];
  /** Stops one master (SIGTERM: AOF flushed) and starts it again with its data and cluster state. */
  restartNode(index: number, downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

function startNode(port: number, dir: string): ChildProcess {
  return spawnOwned('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--cluster-enabled', 'yes',
    '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000', '--appendonly', 'yes', '--save', '',
    '--loglevel', 'warning'], { stdio: 'ignore' });
}

async function ping(port: number): Promise<boolean> {
  try {
    return (await run('redis-cli', ['-p', String(port), 'ping'])).stdout.trim() === 'PONG';
  } catch {
    return false;
  }
}

async function clusterOk(port: number): Promise<boolean> {
  try {
    return (await run('redis-cli', ['-p', String(port), 'cluster', 'info'])).stdout.includes('cluster_state:ok');
  } catch {
    return false;
  }
}

/** A private 3-master Redis Cluster made of redis-server processes (AOF on), for tests. */
export async function startCluster(masters = 3): Promise<PrivateCluster> {
  const root = mkdtempSync(join(tmpdir(), 'klue-cluster-'));
  const nodes: ClusterNode[] = [];
  for (let i = 0; i < masters; i++) {
    const port = await freePort();
    const dir = join(root, String(port));
    mkdirSync(dir);
    nodes.push({ port, dir, process: startNode(port, dir) });
  }
  for (const n of nodes) {
    // A node that exited (another process took its free port meanwhile) starts again on
    // another port; the deadline leaves room for a loaded machine.
    await waitFor(
      async () => {
        if (n.process.exitCode !== null) {
          n.port = await freePort();
          n.dir = join(root, String(n.port));
          mkdirSync(n.dir);
          n.process = startNode(n.port, n.dir);
          return false;
        }
        return ping(n.port);
      },
      60_000,
      'redis nodes to answer',
    );
  }
  const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
  await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes']);
  for (const n of nodes) await waitFor(() => clusterOk(n.port), 20_000, 'cluster_state:ok');
  const stopNode = async (n: ClusterNode) => {
    if (n.process.exitCode !== null || n.process.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      n.process.once('exit', () => resolve());
      n.process.kill('SIGTERM');
    });
  };
  return {
    nodes,
    addresses,
    async restartNode(index, downMs = 1000) {
      const n = nodes[index];
      if (!n) throw new Error(`no node ${index}`);
      await stopNode(n);
      await new Promise((r) => setTimeout(r, downMs));
      n.process = startNode(n.port, n.dir);
      await waitFor(() => ping(n.port), 10_000, `node ${n.port} back`);
      for (const m of nodes) await waitFor(() => clusterOk(m.port), 30_000, 'cluster_state:ok after restart');
    },
    async stop() {
      await Promise.all(nodes.map(stopNode));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
