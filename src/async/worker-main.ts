import { loadConfig } from '../config/load-config.js';
import { createRootLogger } from '../log/logger.js';
import { loadService } from '../service/load-service.js';
import { startAsync, stopAsync } from './runtime.js';
import { importTaskModules } from './task-modules.js';
import { startWorker } from './worker.js';
import { serveWorkerMetrics } from '../observability/worker-metrics-server.js';
import { answerMetricsRequests } from '../observability/worker-metrics-ipc.js';

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
 * The `klue worker` process: loads the service (specs, models, handlers and so their tasks)
 * and `async.modules`, then runs tasks until SIGTERM/SIGINT, when it finishes the active
 * ones (within `async.shutdown_timeout`) and resolves.
 */
export async function runWorker(options: RunWorkerOptions = {}): Promise<void> {
  const config = await loadConfig({ dir: options.dir, env: options.env });
  const log = createRootLogger({ service: config.name, role: 'worker' });
  await loadService(config);
  const modules = await importTaskModules(config);
  if (modules.length) log.debug({ modules }, 'async: imported task modules');
  await startAsync(config, 'worker');
  const worker = await startWorker(config, { queues: options.queues, concurrency: options.concurrency });
  answerMetricsRequests();
  const metricsServer = options.metricsPort === undefined ? undefined : await serveWorkerMetrics(options.metricsPort);

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  log.info({ signal }, 'async: worker shutting down');
  await worker.close();
  await metricsServer?.close();
  await stopAsync();
  log.flush();
}
