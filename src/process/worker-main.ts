import type { KlueConfig } from '../core/config/config-types.js';
import { loadConfig } from '../core/config/load-config.js';
import { KlueError } from '../core/errors/klue-error.js';
import { createRootLogger } from '../core/log/logger.js';
import { loadService } from '../service/load-service.js';
import { RECYCLE_EXIT_CODE, watchMemory } from './memory-watch.js';
import { startAsync, stopAsync } from '../tasks/transport/runtime.js';
import { importTaskModules } from '../service/task-modules.js';
import { releaseStartupMemory } from './startup-memory.js';
import { startWorker } from '../tasks/run/worker.js';
import { answerMetricsRequests } from '../telemetry/worker-metrics-ipc.js';
import { SERVING_MESSAGE } from './supervisor.js';
import { SHUTDOWN_SIGNALS } from './shutdown-signal.js';
import { waitAtMost } from '../util/wait-at-most.js';

export interface RunWorkerOptions {
  /** Service folder. Default: the current directory. */
  dir?: string;
  /** Config environment (`--env`). Default: `KLUE_ENV`, `NODE_ENV`, else `dev`. */
  env?: string;
  /** Queues to serve (`--queues a,b`). Default: every queue a registered task names, plus `default`. */
  queues?: string[];
  /** Tasks run at once per queue (`--concurrency`). Default `async.concurrency` (10). */
  concurrency?: number;
  /** Serve this worker's Prometheus metrics at `http://0.0.0.0:<port>/metrics` (`--metrics-port`). Default: none (a worker under `klue start` reports through the server). */
  metricsPort?: number;
}

/**
 * A cap below what the worker needs before its first task would recycle it forever: that is a
 * configuration error, and failing start-up lets the supervisor back off and give up with it.
 */
function checkMemoryCap(config: KlueConfig): void {
  const maxMb = config.async.max_memory_mb;
  const rssMb = Math.round(process.memoryUsage.rss() / (1024 * 1024));
  if (maxMb !== undefined && rssMb > maxMb) {
    throw new KlueError('CONFIG_INVALID', `${config.file}: async.max_memory_mb: ${maxMb} MB is less than the ${rssMb} MB a worker of this service uses before running any task`);
  }
}

/** Ms the last steps of a shutdown (metrics server, producer) may take once the tasks are settled. */
const FINAL_STEPS_MS = 3000;

/**
 * The `klue worker` process: loads the service (specs, models, handlers and so their tasks)
 * and `async.modules`, then runs tasks until one of SHUTDOWN_SIGNALS, or until its RSS passes
 * `async.max_memory_mb`; either way it stops taking tasks, finishes the active ones (within
 * `async.shutdown_timeout`) and resolves with the exit code: 0, or `RECYCLE_EXIT_CODE` after a
 * memory breach, so a supervisor replaces it.
 */
export async function runWorker(options: RunWorkerOptions = {}): Promise<number> {
  // Under `klue start` the IPC channel closes when the server dies, even by SIGKILL. A worker
  // whose supervisor goes while it is still starting has taken no task: it leaves at once
  // rather than start serving as an orphan, or hang on a Redis that went with it.
  const supervised = process.send !== undefined;
  const leaveOrphaned = () => process.exit(0);
  if (supervised) process.once('disconnect', leaveOrphaned);
  const config = await loadConfig({ dir: options.dir, env: options.env });
  const log = createRootLogger({ service: config.name, role: 'worker' });
  // A worker validates no request: models compile when a task first builds one.
  await loadService(config, { http: false });
  const modules = await importTaskModules(config);
  if (modules.length) log.debug({ modules }, 'async: imported task modules');
  const release = () => {
    const releaseMs = releaseStartupMemory();
    if (releaseMs !== undefined) log.debug({ ms: Math.round(releaseMs) }, 'async: released the memory loading the service took');
  };
  const capped = config.async.max_memory_mb !== undefined;
  if (capped) {
    // Before the cap check, so that it compares the cap with what the worker keeps, not with
    // what loading it took.
    release();
    checkMemoryCap(config);
  }
  await startAsync(config, 'worker');
  // Listening before the worker takes tasks, which it starts doing as startWorker returns: a
  // signal after that, with no listener, would end the process by its default action, the tasks
  // it took left to the stalled check. Until then a signal is raised again, to have the effect
  // it would have without this listener: by default it ends a worker that holds no task, even
  // one stuck connecting to a Redis that is down. The listeners of the other signals stay
  // (resolving twice does nothing); a repeat of the first signal, unheard, ends the process.
  let serving = false;
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (serving) resolve(signal);
      else process.kill(process.pid, signal);
    };
    for (const signal of SHUTDOWN_SIGNALS) process.once(signal, onSignal);
  });
  const worker = await startWorker(config, { queues: options.queues, concurrency: options.concurrency });
  // In the same turn as startWorker's return: no signal is handled in between.
  serving = true;
  // Otherwise once it serves: the collection holds the event loop for a moment, which should
  // not delay the first task of a worker that just replaced a killed one.
  if (!capped) setTimeout(release, 1000).unref();
  answerMetricsRequests();
  // Tells a supervising `klue start` (which waits with work that would compete for the CPU).
  process.send?.({ type: SERVING_MESSAGE });
  let metricsServer: { close(): Promise<void> } | undefined;
  if (options.metricsPort !== undefined) {
    // Imported only when asked for: a worker under `klue start` reports through its server.
    const { serveWorkerMetrics } = await import('../http/worker-metrics-server.js');
    metricsServer = await serveWorkerMetrics(options.metricsPort);
  }

  let stopWatching = () => {};
  const reason = await new Promise<NodeJS.Signals | 'memory' | 'supervisor gone'>((resolve) => {
    void signalled.then(resolve);
    // From here a worker without its supervisor finishes its active tasks, then leaves.
    if (supervised) {
      process.off('disconnect', leaveOrphaned);
      if (process.connected) process.once('disconnect', () => resolve('supervisor gone'));
      else resolve('supervisor gone');
    }
    const maxMb = config.async.max_memory_mb;
    if (maxMb !== undefined) {
      stopWatching = watchMemory({
        maxMb,
        onBreach: (rssMb) => {
          log.warn({ rss_mb: rssMb, max_memory_mb: maxMb }, 'async: worker passed async.max_memory_mb; finishing its active tasks, then exiting to be replaced');
          resolve('memory');
        },
      });
    }
  });
  stopWatching();
  if (reason !== 'memory') log.info({ reason }, 'async: worker shutting down');
  await worker.close();
  // Redis may be down: what is left to close must not hold the exit past the shutdown timeout.
  await waitAtMost(Promise.allSettled([metricsServer?.close(), stopAsync()]), FINAL_STEPS_MS);
  const code = reason === 'memory' ? RECYCLE_EXIT_CODE : 0;
  if (reason === 'memory') log.info({ exit_code: code }, 'async: worker recycled');
  log.flush();
  return code;
}
