import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { specBasePath } from '../api/operations.js';
import { KlueError } from '../errors/klue-error.js';
import { rootLogger, type Logger } from '../log/logger.js';
import type { Service } from '../service/load-service.js';
import { registerDashboard } from '../observability/dashboard.js';
import { observeUnmatched, registerHttpMetrics } from '../observability/http-metrics.js';
import { registerMetricsEndpoint } from '../observability/metrics-endpoint.js';
import { registerBuiltins } from './builtins.js';
import { registerDocs } from './docs.js';
import { sendError } from './error-response.js';
import { registerOperations, toFastifyPath } from './operation-route.js';

export interface CreateAppOptions {
  /** Logger for the server. Default: the process' root logger. */
  logger?: Logger;
  /** Log one line per completed request. Default true. */
  logRequests?: boolean;
  /** Serve Swagger UI at `/docs`. Default true. */
  docs?: boolean;
}

const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  // A caller's id is kept so a request can be followed across services; junk is replaced.
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** Builds the Fastify app of a loaded service (not listening yet). */
export async function createApp(service: Service, options: CreateAppOptions = {}): Promise<FastifyInstance> {
  const { config } = service;
  const schemas = service.schemas;
  // Held as Fastify's base logger type so plugins and routes keep Fastify's default generics.
  const logger: FastifyBaseLogger = options.logger ?? rootLogger();
  const app = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'req_id' }),
    genReqId: requestId,
    bodyLimit: config.body_limit,
    routerOptions: { ignoreTrailingSlash: true },
  });
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body' ? schemas.request.compile(schema) : schemas.coercing.compile(schema),
  );
  // Per-request hooks take Fastify's callback form: an async hook costs a promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  if (options.logRequests ?? true) {
    app.addHook('onResponse', (request, reply, done) => {
      request.log.info(
        { method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
        'request completed',
      );
      done();
    });
  }
  app.setErrorHandler(async (err, request, reply) => {
    await sendError(err, request, reply);
  });
  const timed = Boolean(config.metrics_path);
  app.setNotFoundHandler(async (request, reply) => {
    await sendError(new KlueError('ROUTE_NOT_FOUND', `No operation for ${request.method} ${request.url.split('?')[0]}`), request, reply);
    if (timed) observeUnmatched(request, reply);
  });
  // Before any route is added: it hooks each route as it is made.
  if (timed) registerHttpMetrics(app);

  const prefixes = new Map(service.apis.map((a) => [a.spec.name, config.serve_base_path ? specBasePath(a.spec) : '']));
  registerOperations(app, service, (api) => prefixes.get(api) ?? '');
  const taken = new Set(service.operations.map((op) => `${op.method.toUpperCase()} ${(prefixes.get(op.api) ?? '') + toFastifyPath(op.path)}`));
  registerBuiltins(app, service, taken);
  if (options.docs ?? true) await registerDocs(app, service);
  if (config.metrics_path) registerMetricsEndpoint(app, config, config.metrics_path);
  await registerDashboard(app, service);
  return app;
}
