import type { FastifyInstance } from 'fastify';
import { metrics } from './metrics.js';

/** Times every request by its route pattern (not the raw URL, which would explode label cardinality). */
export function registerHttpMetrics(app: FastifyInstance): void {
  const histogram = metrics().httpDuration;
  // The callback form: an async hook costs a promise per request.
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    histogram.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    done();
  });
}
