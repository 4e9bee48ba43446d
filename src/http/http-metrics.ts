import type { FastifyInstance, FastifyReply, FastifyRequest, onResponseHookHandler } from 'fastify';
import { metrics } from '../telemetry/metrics.js';

type Done = () => void;

function observe(route: string, request: FastifyRequest, reply: FastifyReply): void {
  metrics().httpDuration.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
}

function observer(route: string): (request: FastifyRequest, reply: FastifyReply, done: Done) => void {
  return (request, reply, done) => {
    observe(route, request, reply);
    done();
  };
}

/**
 * Times every request by its route pattern (not the raw URL, which would explode label
 * cardinality). Each route gets its own hook, made when the route is: reading the pattern per
 * request (`request.routeOptions`) builds an object every time. Must run before routes are added.
 */
export function registerHttpMetrics(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const own = route.onResponse;
    const hooks: onResponseHookHandler[] = own === undefined ? [] : Array.isArray(own) ? own : [own];
    route.onResponse = [...hooks, observer(route.url)];
  });
}

/**
 * Times a request no route matched, once its answer was sent: Fastify's not-found handler
 * takes no onResponse hook, and a global one would run for every request.
 */
export function observeUnmatched(request: FastifyRequest, reply: FastifyReply): void {
  observe('unmatched', request, reply);
}
