import { createServer, type Server } from 'node:http';
import { bearerSecretProblem } from '../auth/authorization.js';
import { config } from '../core/config/current-config.js';
import { metrics } from '../telemetry/metrics.js';
import { listenError } from './listen-error.js';

/** The loaded service's `metrics_token`, if any. */
function loadedMetricsToken(): string | undefined {
  try {
    return config().metrics_token;
  } catch {
    return undefined;
  }
}

/**
 * A standalone worker's own `/metrics` endpoint (workers on other hosts have no server to report
 * through). With `metrics_token`, scrapes must send it as a bearer token, as on the server.
 */
export async function serveWorkerMetrics(port: number, token = loadedMetricsToken()): Promise<{ close(): Promise<void> }> {
  const registry = metrics().registry;
  const server: Server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    const problem = token === undefined ? undefined : bearerSecretProblem(req, token, 'metrics_token');
    if (problem) {
      res.writeHead(problem.status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(problem.toBody()));
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(listenError(err, port, '0.0.0.0', "the port of this worker's metrics (--metrics-port)")));
    server.listen(port, '0.0.0.0', resolve);
  });
  return { close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
