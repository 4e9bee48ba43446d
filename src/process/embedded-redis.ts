import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KlueConfig } from '../core/config/config-types.js';
import { KlueError } from '../core/errors/klue-error.js';
import { rootLogger } from '../core/log/logger.js';

/** A Redis this process made available for the service. */
export interface EmbeddedRedis {
  /** `unix://` URL of its socket. */
  url: string;
  /** Stops it, if this process started it. */
  stop(): Promise<void>;
}

/** Unix socket paths are limited to ~104 bytes (macOS) / 108 (Linux). */
const MAX_SOCKET_PATH = 100;

export function embeddedSocketPath(dir: string): string {
  const local = join(dir, '.klue', 'redis.sock');
  if (local.length <= MAX_SOCKET_PATH) return local;
  const hash = createHash('sha256').update(dir).digest('hex').slice(0, 12);
  return join(tmpdir(), `klue-${hash}.sock`);
}

/** Resolves true when something at `socket` answers PING like a Redis. */
function answersPing(socket: string, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const conn = createConnection(socket);
    let reply = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      conn.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    conn.once('connect', () => conn.write('PING\r\n'));
    conn.on('data', (b: Buffer) => {
      reply += b.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    conn.once('error', () => done(false));
  });
}

function notInstalled(): KlueError {
  return new KlueError(
    'REDIS_NOT_INSTALLED',
    'redis-server not found: install it (Debian/Ubuntu: apt-get install -y redis-server; macOS: brew install redis) or set async.redis_url / REDIS_URL',
  );
}

async function launch(socket: string, dataDir: string): Promise<ChildProcess> {
  const args = ['--port', '0', '--unixsocket', socket, '--unixsocketperm', '700', '--dir', dataDir,
    '--appendonly', 'yes', '--save', '', '--daemonize', 'no', '--loglevel', 'warning'];
  // Its own process group: a Ctrl-C in the terminal signals the whole foreground group, and
  // Redis must outlive the graceful shutdown of the server and workers that still use it; klue
  // stops it last.
  // The files it writes hold every queued task: readable by their owner only (a child inherits the umask).
  const umask = process.umask(0o077);
  let child: ChildProcess;
  try {
    child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  } finally {
    process.umask(umask);
  }
  let output = '';
  const collect = (b: Buffer) => {
    output = (output + b.toString()).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? notInstalled() : err));
    child.once('exit', (code, signal) => reject(new KlueError('EMBEDDED_REDIS_FAILED', `redis-server exited (${signal ?? code}) at start: ${output.trim()}`)));
  });
  exited.catch(() => undefined);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await Promise.race([answersPing(socket, 200), exited]);
    if (up) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new KlueError('EMBEDDED_REDIS_FAILED', `redis-server did not answer on ${socket} within 10 s: ${output.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  child.removeAllListeners('exit');
  child.on('exit', (code, signal) => {
    if (!child.killed) rootLogger().error({ code, signal, output: output.trim() }, 'embedded redis-server exited');
  });
  return child;
}

/** Makes a folder and everything below it readable and writable by its owner only (files of older versions too). */
function ownerOnly(path: string): void {
  for (const entry of readdirSync(path, { withFileTypes: true, recursive: true })) {
    const full = join(entry.parentPath, entry.name);
    if (entry.isDirectory()) chmodSync(full, 0o700);
    else if (entry.isFile()) chmodSync(full, 0o600);
  }
  chmodSync(path, 0o700);
}

/**
 * Makes sure the service has a Redis. With `async.redis_url`, `async.redis_cluster` or
 * `REDIS_URL` set, does nothing and returns undefined. Otherwise runs a private redis-server
 * on a unix socket under `<dir>/.klue/` (no TCP port), its data kept in `<dir>/.klue/redis`
 * (append-only file, so queued tasks survive restarts), and points `config.async.redis_url`
 * at it.
 *
 * A redis-server already answering on that socket is reused and left running on stop(): it
 * is the service's own (typically orphaned by a `klue start` that was killed), holds the
 * service's queued tasks, and a second server on the same data dir could not start anyway.
 */
export async function ensureRedis(config: KlueConfig): Promise<EmbeddedRedis | undefined> {
  if (config.async.redis_url || config.async.redis_cluster?.length || config.async.redis_sentinel || process.env.REDIS_URL) return undefined;
  const socket = embeddedSocketPath(config.dir);
  const dataDir = join(config.dir, '.klue', 'redis');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  ownerOnly(join(config.dir, '.klue'));
  const url = `unix://${socket}`;
  if (await answersPing(socket)) {
    rootLogger().info({ socket }, 'async: reusing the redis-server already running for this service');
    config.async.redis_url = url;
    return { url, stop: () => Promise.resolve() };
  }
  // A socket file nobody answers on is left by a redis-server that was killed.
  rmSync(socket, { force: true });
  const child = await launch(socket, dataDir);
  config.async.redis_url = url;
  rootLogger().info({ socket, pid: child.pid, data: dataDir }, 'async: started embedded redis-server');
  return {
    url,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
