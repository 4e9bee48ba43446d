import { context, isSpanContextValid, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import type { IncomingHttpHeaders } from 'node:http';
import { settled } from '../util/settled.js';

// A ProxyTracer follows an SDK registered later, so one lookup serves the process.
const tracer = trace.getTracer('klue');

/**
 * Runs `fn` inside `span` (made current over `parent`) and ends the span when its promise
 * settles, recording the error if it rejects. Plain promise callbacks rather than an async
 * wrapper: this runs once per request and per task, where every extra promise costs. Without
 * an OpenTelemetry SDK the span records nothing and belongs to no trace, so it is skipped.
 */
export function inSpan<T>(span: Span, parent: Context, fn: () => Promise<T>): Promise<T> {
  if (!span.isRecording() && !isSpanContextValid(span.spanContext())) return settled(fn);
  return context.with(trace.setSpan(parent, span), settled<T>, undefined, fn).then(
    (value) => {
      span.end();
      return value;
    },
    (err: unknown) => {
      span.recordException(err instanceof Error ? err : String(err));
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      span.end();
      throw err;
    },
  );
}

/**
 * Runs `fn` inside a server span for the request, child of the caller's `traceparent` when it
 * sent one. Tasks queued inside carry this span's context, so their spans are its children.
 * Without an OpenTelemetry SDK registered, every call here is a no-op.
 */
export function withRequestSpan<T>(name: string, headers: IncomingHttpHeaders, fn: (span: Span) => Promise<T>): Promise<T> {
  const parent = propagation.extract(context.active(), headers);
  const span = tracer.startSpan(name, { kind: SpanKind.SERVER }, parent);
  return inSpan(span, parent, () => fn(span));
}

/**
 * Runs a task run inside a consumer span, child of the trace its call carried (`carrier`, the
 * caller's `traceparent`/`tracestate`), or of no trace at all: never of whatever was current.
 */
export function withTaskSpan<T>(name: string, carrier: Record<string, string> | undefined, attributes: Record<string, string | number>, fn: () => Promise<T>): Promise<T> {
  const parent = carrier ? propagation.extract(ROOT_CONTEXT, carrier) : ROOT_CONTEXT;
  return inSpan(tracer.startSpan(name, { kind: SpanKind.CONSUMER, attributes }, parent), parent, fn);
}

const TRACEPARENT = /^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/;

/**
 * The W3C trace context a request came with (`traceparent`, and `tracestate` beside it), when
 * its traceparent is well formed: kept in the request's context so that, without an
 * OpenTelemetry SDK to make spans, the tasks it queues and the APIs it calls still carry the
 * caller's trace.
 */
export function incomingTrace(headers: IncomingHttpHeaders): Record<string, string> | undefined {
  const parent = headers.traceparent;
  if (typeof parent !== 'string' || !TRACEPARENT.test(parent)) return undefined;
  const state = headers.tracestate;
  return typeof state === 'string' ? { traceparent: parent, tracestate: state } : { traceparent: parent };
}
