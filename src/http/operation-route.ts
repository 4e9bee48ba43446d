import type { ValidateFunction } from 'ajv';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { describeAjvErrors } from '../spec/ajv-errors.js';
import { tagModel } from '../spec/models.js';
import { mediaKind } from '../spec/operations.js';
import { hasPending, settlePending } from '../tasks/caller/pending.js';
import { runInContext, type ContextStore, type KlueContext } from '../core/context/context.js';
import { KlueError } from '../core/errors/klue-error.js';
import type { Logger } from '../core/log/logger.js';
import type { BoundOperation, Service } from '../service/load-service.js';
import { incomingTrace, withRequestSpan } from '../telemetry/tracing.js';
import { sendError } from './error-response.js';

/** `/hello/{name}` → `/hello/:name` */
export function toFastifyPath(path: string): string {
  return path.replace(/\{([^}]+)\}/g, ':$1');
}

interface ResponseCheck {
  status: number;
  validate?: ValidateFunction;
}

function responseCheck(service: Service, op: BoundOperation): ResponseCheck {
  const spec = op.responses.get(String(op.successStatus)) ?? op.responses.get('default');
  return { status: op.successStatus, validate: spec?.schema ? service.schemas.compileExact(spec.schema) : undefined };
}

/** The media type of a request without its parameters, lower-cased: `multipart/form-data`. */
function requestMedia(request: FastifyRequest): string | undefined {
  const type = request.headers['content-type'];
  return typeof type === 'string' ? type.split(';')[0]!.trim().toLowerCase() : undefined;
}

/** Whether a declared media type (`application/json`, `image/*`, `*\/*`) covers a request's. */
function covers(declared: string, media: string): boolean {
  const d = declared.split(';')[0]!.trim().toLowerCase();
  if (d === media || d === '*/*') return true;
  return d.endsWith('/*') && media.startsWith(d.slice(0, -1));
}

/**
 * How an operation's body is checked. An operation that declares only JSON (or nothing) has
 * its body checked by Fastify's schema (a required one) or here (an optional one); one that
 * declares a form or another media type has each request's body checked here by its media type:
 * a form's fields are coerced from strings like query parameters, other media are bytes.
 */
function bodyCheck(service: Service, op: BoundOperation) {
  const byMedia = op.bodyMedia.some((m) => mediaKind(m) !== 'json');
  const jsonDeclared = !byMedia || op.bodyMedia.some((m) => mediaKind(m) === 'json');
  // Fastify validates a body schema against a missing body too; an optional body is checked here instead.
  const json = op.body && jsonDeclared && (byMedia || !op.bodyRequired) ? service.schemas.request.compile(op.body) : undefined;
  const form = op.formBody ? service.schemas.coercing.compile(op.formBody) : undefined;
  return {
    /** The body schema Fastify checks, when it can check every request's body. */
    routeSchema: op.body && op.bodyRequired && !byMedia ? op.body : undefined,
    /** Throws the error of a body that breaks the spec; returns whether it is JSON. */
    check(request: FastifyRequest, body: unknown): boolean {
      const media = requestMedia(request);
      if (body === undefined || body === null) {
        if (byMedia && op.bodyRequired) throw new KlueError('INVALID_PARAMETER', 'body: is required');
        return false;
      }
      const kind = byMedia && media !== undefined ? mediaKind(media) : 'json';
      const validate = kind === 'json' ? json : kind === 'form' ? form : undefined;
      if (validate && !validate(body)) throw new KlueError('INVALID_PARAMETER', describeAjvErrors(validate.errors, 'body'));
      return kind === 'json';
    },
  };
}

/** What the operation declares is accepted, and only that: a JSON body sent to a form operation is a 415. */
function mediaGuard(op: BoundOperation): RouteOptions['preValidation'] {
  const declared = op.bodyMedia;
  if (declared.length === 0) return undefined;
  return (request, reply, done) => {
    const media = requestMedia(request);
    if (media === undefined || request.body === undefined || declared.some((d) => covers(d, media))) {
      done();
      return;
    }
    const error = new KlueError('UNSUPPORTED_MEDIA_TYPE', `${media} is not a media type of this operation (${declared.join(', ')})`);
    sendError(error, request, reply).catch((err: unknown) => request.log.error({ err }, 'could not send the error response'));
  };
}

/** Builds the Fastify route of one operation: auth, context, handler, pending enqueues, response check. */
export function operationRoute(service: Service, op: BoundOperation, prefix: string): RouteOptions {
  const url = prefix + toFastifyPath(op.path);
  if (!op.bound) {
    // It answers 501 whatever is sent: nothing to validate, nothing to compile.
    const message = `${op.method.toUpperCase()} ${op.path} is not implemented`;
    return {
      method: op.method.toUpperCase(),
      url,
      preValidation: mediaGuard(op),
      handler: (request, reply) => sendError(new KlueError('NOT_IMPLEMENTED', message), request, reply),
    };
  }
  const check = responseCheck(service, op);
  const body = bodyCheck(service, op);
  const jwt = service.jwt;
  const where = `${op.file}: ${op.where}`;
  const spanName = `${op.method.toUpperCase()} ${op.path}`;

  /** What the handler gave, checked against the spec's success response (its task calls are acknowledged by then). */
  const checked = (result: unknown, reply: FastifyReply): unknown => {
    if (check.validate) {
      if (result === undefined) throw new KlueError('BAD_RESPONSE', `${where}: the handler returned nothing but the spec declares a ${check.status} body`);
      if (!check.validate(result)) {
        throw new KlueError('BAD_RESPONSE', `${where}: response ${check.status}: ${describeAjvErrors(check.validate.errors, 'response')}`, {
          details: { operation: op.where, file: op.file, errors: check.validate.errors },
        });
      }
    }
    // Returned, not sent: awaiting `reply.send()` would hold the handler until the socket drained.
    reply.code(check.status);
    return result ?? null;
  };

  /** Sends the error body; a handler that failed may still have queued work: those enqueues finish first. */
  const failed = (err: unknown, request: FastifyRequest, reply: FastifyReply, store: ContextStore | undefined): Promise<FastifyReply> => {
    const sent = () => sendError(err, request, reply, store?.ctx).then(() => reply);
    return store && hasPending(store) ? settlePending(store).then(sent, sent) : sent();
  };

  /** Runs the handler in the request's context and span, and answers. */
  const respond = (request: FastifyRequest, reply: FastifyReply, store: ContextStore): Promise<unknown> =>
    withRequestSpan(spanName, request.headers, (span) => {
      let sent = request.body;
      const isJson = body.check(request, sent);
      if (isJson && op.bodyModel && typeof sent === 'object' && sent !== null && !Array.isArray(sent)) sent = tagModel(op.bodyModel, sent);
      if (store.ctx.user?.sub) span.setAttribute('enduser.id', store.ctx.user.sub);
      const running = runInContext(store, () =>
        op.handler({
          body: sent,
          path: request.params as Record<string, unknown>,
          query: request.query as Record<string, unknown>,
          headers: request.headers,
          request: store.ctx.request!,
        }),
      );
      // Inside the span, so that it covers the acknowledgement of the request's task calls.
      return Promise.resolve(running).then((value) => (hasPending(store) ? settlePending(store).then(() => value) : value));
    }).then(
      (result) => {
        try {
          return checked(result, reply);
        } catch (err) {
          return failed(err, request, reply, store);
        }
      },
      (err: unknown) => failed(err, request, reply, store),
    );

  // One promise chain rather than async functions: on Node 20 each promise a request makes runs
  // klue's context hooks (see src/core/context/propagation.ts), and this runs once per request.
  const handler = (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const ctx: KlueContext = { request: { id: request.id, method: request.method, url: request.url } };
    const trace = request.headers.traceparent === undefined ? undefined : incomingTrace(request.headers);
    if (trace) ctx.trace = trace;
    if (!(op.requiresAuth && jwt)) return respond(request, reply, { ctx, log: request.log as unknown as Logger, pending: new Set() });
    return jwt.authenticate(request.raw).then(
      (auth) => {
        ctx.user = auth.user;
        ctx.token = auth.token;
        const log = (request.log as unknown as Logger).child({ user_id: auth.user.sub });
        // so that error lines written for this request carry the user too
        request.log = log;
        return respond(request, reply, { ctx, log, pending: new Set() });
      },
      (err: unknown) => failed(err, request, reply, undefined),
    );
  };

  const schema: Record<string, unknown> = {};
  if (op.params) schema.params = op.params;
  if (op.querystring) schema.querystring = op.querystring;
  if (op.headers) schema.headers = op.headers;
  if (body.routeSchema) schema.body = body.routeSchema;
  const route: RouteOptions = { method: op.method.toUpperCase(), url, schema, handler };
  route.preValidation = mediaGuard(op);
  return route;
}

export function registerOperations(app: FastifyInstance, service: Service, prefixFor: (api: string) => string): void {
  // Fastify answers HEAD for each GET by itself: a spec that declares both gets its own HEAD.
  const declaredHead = new Set(service.operations.filter((op) => op.method === 'head').map((op) => prefixFor(op.api) + toFastifyPath(op.path)));
  for (const op of service.operations) {
    const route = operationRoute(service, op, prefixFor(op.api));
    if (op.method === 'get' && declaredHead.has(route.url)) route.exposeHeadRoute = false;
    app.route(route);
  }
}
