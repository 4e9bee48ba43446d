import type { FastifyInstance } from 'fastify';
import { startAsync, stopAsync } from '../tasks/transport/runtime.js';
import type { KlueConfig } from '../core/config/config-types.js';
import type { Logger } from '../core/log/logger.js';
import { loadService, type Service } from '../service/load-service.js';
import { createApp, type CreateAppOptions } from './create-app.js';
import { listenError } from './listen-error.js';

export interface ServeOptions extends CreateAppOptions {
  /** Default 8080. Use 0 for any free port. */
  port?: number;
  /** Default '0.0.0.0'. */
  host?: string;
  logger?: Logger;
}

export interface RunningServer {
  app: FastifyInstance;
  service: Service;
  /** `http://host:port` the server listens on. */
  url: string;
  /** Stops accepting requests, waits for in-flight ones and their enqueues, then stops the async producer. */
  close(): Promise<void>;
}

/** Loads the service, starts its async producer (with_async) and listens. Redis and workers are the caller's. */
export async function serve(config: KlueConfig, options: ServeOptions = {}): Promise<RunningServer> {
  const service = await loadService(config);
  if (config.with_async) await startAsync(config, 'server');
  const app = await createApp(service, options);
  const host = options.host ?? '0.0.0.0';
  const listenPort = options.port ?? 8080;
  try {
    await app.listen({ port: listenPort, host });
  } catch (err) {
    // Nothing of this server may outlive the failure (a library caller's process goes on).
    await app.close().catch(() => undefined);
    if (config.with_async) await stopAsync();
    throw listenError(err as Error, listenPort, host, 'the port to serve the API on (--port)');
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : options.port;
  return {
    app,
    service,
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    async close() {
      // A handler that never ends must not hold the shutdown forever: past the shutdown timeout
      // its connection is cut (its enqueues, bounded by their own timeout, still settle).
      const timer = setTimeout(() => {
        options.logger?.warn({ shutdown_timeout: config.async.shutdown_timeout }, 'requests still running at shutdown_timeout; closing their connections');
        app.server.closeAllConnections();
      }, config.async.shutdown_timeout);
      timer.unref();
      try {
        await app.close();
      } finally {
        clearTimeout(timer);
      }
      if (config.with_async) await stopAsync();
    },
  };
}
