import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { mediaKind, specBasePath } from '../spec/operations.js';
import { KlueError } from '../core/errors/klue-error.js';
import { rootLogger, type Logger } from '../core/log/logger.js';
import { redactUrl } from '../core/log/redact-url.js';
import type { Service } from '../service/load-service.js';
import { registerBuiltins } from './builtins.js';
import { servedDashboard } from './dashboard-auth.js';
import { clientErrorHandler, sendError } from './error-response.js';
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
  /** Answers outside a route's own error handling (it has nobody to hand a failure to). */
  const answer = (err: unknown, request: FastifyRequest, reply: FastifyReply): void => {
    sendError(err, request, reply).catch((failure: unknown) => request.log.error({ err: failure }, 'could not send the error response'));
  };
  const { http } = config;
  const app = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'req_id' }),
    genReqId: requestId,
    bodyLimit: config.body_limit,
    routerOptions: { ignoreTrailingSlash: true },
    requestTimeout: http.request_timeout,
    keepAliveTimeout: http.keep_alive_timeout,
    http: {
      requestTimeout: http.request_timeout,
      headersTimeout: http.headers_timeout,
      // Node checks both timeouts every 30 s by default, which would let a stalled client stay that much longer.
      connectionsCheckingInterval: Math.min(1000, http.headers_timeout),
      // Node's own answer to a request without Host is an empty 400; the onRequest hook answers it instead.
      requireHostHeader: false,
    },
    // Bad percent-encoding in the URL, a too long path parameter...: answered in the standard shape.
    frameworkErrors: answer,
    clientErrorHandler: clientErrorHandler(logger),
  });
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body' ? schemas.request.compile(schema) : schemas.coercing.compile(schema),
  );
  // Per-request hooks take Fastify's callback form: an async hook costs a promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    if (request.headers.host === undefined && request.raw.httpVersion === '1.1') {
      reply.header('connection', 'close');
      answer(new KlueError('BAD_REQUEST', 'An HTTP/1.1 request needs a Host header'), request, reply);
      return;
    }
    done();
  });
  if (options.logRequests ?? true) {
    app.addHook('onResponse', (request, reply, done) => {
      request.log.info(
        // The dashboard's `login?token=` must not put an admin JWT in the logs.
        { method: request.method, url: redactUrl(request.url), status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
        'request completed',
      );
      done();
    });
  }
  app.setErrorHandler(async (err, request, reply) => {
    await sendError(err, request, reply);
  });
  // What an app may serve is imported only when it does: the metrics (prom-client), Swagger UI
  // and the queue dashboard (bull-board, BullMQ) each load modules the others do not need.
  const metricsPath = config.metrics_path;
  const timing = metricsPath ? await import('./http-metrics.js') : undefined;
  app.setNotFoundHandler(async (request, reply) => {
    const error = app.supportedMethods.includes(request.method)
      ? new KlueError('ROUTE_NOT_FOUND', `No operation for ${request.method} ${request.url.split('?')[0]}`)
      : new KlueError('METHOD_NOT_IMPLEMENTED', `The server does not implement the method ${request.method}`);
    await sendError(error, request, reply);
    timing?.observeUnmatched(request, reply);
  });
  // Before any route is added: it hooks each route as it is made.
  timing?.registerHttpMetrics(app);

  await registerBodyParsers(app, service);
  const prefixes = new Map(service.apis.map((a) => [a.spec.name, config.serve_base_path ? specBasePath(a.spec) : '']));
  registerOperations(app, service, (api) => prefixes.get(api) ?? '');
  const taken = new Set(service.operations.map((op) => `${op.method.toUpperCase()} ${(prefixes.get(op.api) ?? '') + toFastifyPath(op.path)}`));
  registerBuiltins(app, service, taken);
  if (options.docs ?? true) {
    const { registerDocs } = await import('./docs.js');
    await registerDocs(app, service);
  }
  if (metricsPath) {
    const { registerMetricsEndpoint } = await import('./metrics-endpoint.js');
    registerMetricsEndpoint(app, config, metricsPath);
  }
  if (servedDashboard(config)) {
    const { registerDashboard } = await import('./dashboard.js');
    await registerDashboard(app, service);
  }
  return app;
}

/**
 * Parsers for the bodies the specs declare beyond JSON, registered only when one does: form
 * fields (`application/x-www-form-urlencoded`, `multipart/form-data`, whose files come as
 * Buffers), JSON under a vendor or structured-syntax name (`application/vnd.github+json`,
 * `application/merge-patch+json`), parsed as Fastify parses JSON, and, for other media types
 * (`application/x-tar`, `image/png`), the bytes as sent.
 */
async function registerBodyParsers(app: FastifyInstance, service: Service): Promise<void> {
  const media = new Set(service.operations.flatMap((op) => op.bodyMedia.map((m) => m.split(';')[0]!.trim().toLowerCase())));
  if (media.has('application/x-www-form-urlencoded')) {
    const { default: formbody } = await import('@fastify/formbody');
    await app.register(formbody);
  }
  if (media.has('multipart/form-data')) {
    const { default: multipart } = await import('@fastify/multipart');
    await app.register(multipart, { attachFieldsToBody: 'keyValues' });
  }
  if ([...media].some((m) => m !== 'application/json' && m.startsWith('application/') && mediaKind(m) === 'json')) {
    app.addContentTypeParser(/^application\/[\w.+-]+\+json(?:\s*;|$)/i, { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
  }
  if ([...media].some((m) => mediaKind(m) === 'other')) {
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  }
}
