import { spawn } from 'node:child_process';
import { ensureRedis } from '../process/embedded-redis.js';
import { startWorkers, type Supervisor } from '../process/supervisor.js';
import { isProduction, type KlueConfig } from '../core/config/config-types.js';
import { loadConfig } from '../core/config/load-config.js';
import { contextStorage } from '../core/context/context.js';
import { createRootLogger, type Logger } from '../core/log/logger.js';
import { serve, type RunningServer } from '../http/serve.js';
import { loadService } from '../service/load-service.js';
import { klueBin } from '../process/klue-bin.js';
import { onShutdownSignal } from '../process/shutdown-signal.js';

export interface StartOptions {
  port: number;
  host: string;
  env?: string;
  workers?: number;
  /** false with --no-worker */
  worker: boolean;
}

/**
 * Outside production, keeps `types/` in step with the specs by running `klue types` beside the
 * server. Not in this process: once the service's TypeScript modules have installed tsx, the
 * generator (json-schema-to-typescript, prettier) would load through tsx's loader thread, and
 * the idle server would keep 227 MB instead of about 140 for a file written once. A failure is
 * only a warning.
 */
function writeTypes(config: KlueConfig, env: string | undefined, log: Logger): void {
  const child = spawn(process.execPath, [klueBin, 'types', ...(env ? ['--env', env] : [])], { cwd: config.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer) => (output += chunk.toString());
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  child.on('error', (err) => log.warn({ err }, 'could not write API types'));
  child.on('close', (code, signal) => {
    // Killed with the server (Ctrl-C reaches the whole process group): nothing to report.
    if (signal !== null) return;
    const written = [...output.matchAll(/^wrote (.+)$/gm)].map((m) => m[1]);
    if (code !== 0) log.warn({ exit_code: code, output: output.trim() }, 'could not write API types');
    else if (written.length > 0) log.info({ files: written }, 'wrote API types');
  });
}

/**
 * `klue start`: validates everything, then serves HTTP and (with_async) supervises the workers;
 * outside production it then writes the API types.
 * SIGTERM/SIGINT stop accepting requests, let in-flight ones (and their enqueues) finish, stop
 * the workers gracefully and exit 0.
 */
export async function startCommand(opts: StartOptions): Promise<void> {
  const config = await loadConfig({ env: opts.env });
  const log = createRootLogger({ service: config.name, role: 'server' });
  const queued = config.with_async && config.async.mode === 'queue';
  const redis = queued ? await ensureRedis(config) : undefined;
  const workers = queued && opts.worker ? (opts.workers ?? config.async.workers) : 0;
  const types = () => {
    if (!isProduction(config)) writeTypes(config, opts.env, log);
  };

  let server: RunningServer | undefined;
  let supervisor: Supervisor | undefined;
  let stopping: Promise<never> | undefined;
  // Giving up on the workers and a shutdown signal may both ask; the first one's exit code wins.
  const stop = (code: number): Promise<never> =>
    (stopping ??= (async () => {
      log.info('shutting down');
      await Promise.all([server?.close(), supervisor?.stop()]);
      await redis?.stop();
      log.info({ exit_code: code }, 'stopped');
      log.flush();
      process.exit(code);
    })());
  if (workers > 0) {
    // Started while the server loads, not after: each worker loads the service itself (and
    // fails the same way on a broken one), so it serves about when the server does.
    supervisor = startWorkers(config, {
      count: workers,
      args: opts.env ? ['--env', opts.env] : [],
      onGiveUp: (reason: string) => {
        log.fatal({ reason }, 'workers keep failing; stopping klue');
        void stop(1);
      },
      // The types are for the editor: written once a worker serves, not while it loads.
      onServing: types,
    });
  }
  try {
    // Everything is validated before the server listens; a broken service leaves nothing running.
    await loadService(config);
    server = await serve(config, { port: opts.port, host: opts.host, logger: log });
  } catch (err) {
    // e.g. a spec error or the port is taken: the workers and the embedded redis-server this
    // command started must not outlive it.
    await supervisor?.stop();
    await redis?.stop();
    throw err;
  }
  log.info({ url: server.url, operations: server.service.operations.length, context_propagation: contextStorage.propagation }, `${config.name} listening`);
  if (supervisor) {
    // The server's /metrics includes the workers'; the module is loaded only when metrics are served.
    const metricsEndpoint = config.metrics_path ? await import('../http/metrics-endpoint.js') : undefined;
    const workersMetrics = supervisor;
    metricsEndpoint?.addMetricsSource(() => workersMetrics.collectMetrics());
  } else {
    types();
  }
  onShutdownSignal(() => stop(0));
}
