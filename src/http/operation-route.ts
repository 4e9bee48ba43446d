import type { ValidateFunction } from 'ajv';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { describeAjvErrors } from '../spec/ajv-errors.js';
import { tagModel } from '../spec/models.js';
import { hasPending, settlePending } from '../tasks/caller/pending.js';
import { runInContext, type ContextStore, type KlueContext } from '../core/context/context.js';
import { KlueError } from '../core/errors/klue-error.js';
import type { Logger } from '../core/log/logger.js';
import type { BoundOperation, Service } from '../service/load-service.js';
import { withRequestSpan } from '../telemetry/tracing.js';
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

/** Builds the Fastify route of one operation: auth, context, handler, pending enqueues, response check. */
export function operationRoute(service: Service, op: BoundOperation, prefix: string): RouteOptions {
  const check = responseCheck(service, op);
  // Fastify validates a body schema against a missing body too; an optional body is checked here instead.
  const optionalBody = op.body && !op.bodyRequired ? service.schemas.request.compile(op.body) : undefined;
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
      let body = request.body;
      if (optionalBody && body !== undefined && !optionalBody(body)) {
        throw new KlueError('INVALID_PARAMETER', describeAjvErrors(optionalBody.errors, 'body'));
      }
      if (op.bodyModel && typeof body === 'object' && body !== null && !Array.isArray(body)) body = tagModel(op.bodyModel, body);
      if (store.ctx.user?.sub) span.setAttribute('enduser.id', store.ctx.user.sub);
      const running = runInContext(store, () =>
        op.handler({
          body,
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
  if (op.body && op.bodyRequired) schema.body = op.body;
  return { method: op.method.toUpperCase(), url: prefix + toFastifyPath(op.path), schema, handler };
}

export function registerOperations(app: FastifyInstance, service: Service, prefixFor: (api: string) => string): void {
  for (const op of service.operations) app.route(operationRoute(service, op, prefixFor(op.api)));
}
