import { context, isSpanContextValid, propagation, SpanKind, trace, type Span } from '@opentelemetry/api';
import { currentContext } from '../core/context/context.js';
import type { ClientCallOptions } from '../spec/api-pool.js';
import type { ClientOperation } from './client-operation.js';

const tracer = trace.getTracer('klue');

/**
 * The bearer token a call carries: the call's `token` option, else none when the API's config
 * sets an `authorization` header of its own, else the current user's (the request's, or the one
 * a task carries) as `send_token` says.
 */
function tokenFor(plan: ClientOperation, options: ClientCallOptions | undefined, token: string | undefined): string | undefined {
  if (options?.token !== undefined) return options.token ?? undefined;
  const mode = plan.config.send_token;
  if (mode === 'never' || plan.hasOwnAuthorization) return undefined;
  return mode === 'always' || plan.op.requiresAuth ? token : undefined;
}

/**
 * Adds the context of the current request or task to `headers`: the user's bearer token,
 * `X-Request-Id`, and the W3C trace context of a client span (or, without an OpenTelemetry SDK,
 * of the trace the request or task came with). Returns the span, when one records.
 */
export function addContextHeaders(plan: ClientOperation, options: ClientCallOptions | undefined, headers: Record<string, string>): Span | undefined {
  const ctx = currentContext();
  const token = tokenFor(plan, options, ctx?.token);
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (ctx?.request) headers['x-request-id'] = ctx.request.id;
  const active = context.active();
  const span = tracer.startSpan(plan.spanName, { kind: SpanKind.CLIENT, attributes: { 'http.request.method': plan.method, 'klue.client.api': plan.api, 'klue.client.operation': plan.name } }, active);
  if (span.isRecording() || isSpanContextValid(span.spanContext())) {
    propagation.inject(trace.setSpan(active, span), headers);
    return span;
  }
  if (ctx?.trace) Object.assign(headers, ctx.trace);
  return undefined;
}
