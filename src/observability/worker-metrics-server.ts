import { createServer, type Server } from 'node:http';
import { metrics } from './metrics.js';

/** A standalone worker's own `/metrics` endpoint (workers on other hosts have no server to report through). */
export async function serveWorkerMetrics(port: number): Promise<{ close(): Promise<void> }> {
  const registry = metrics().registry;
  const server: Server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', resolve);
  });
  return { close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
