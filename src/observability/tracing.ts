import { context, propagation, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { IncomingHttpHeaders } from 'node:http';

const tracer = () => trace.getTracer('klue');

/**
 * Runs `fn` inside a server span for the request, child of the caller's `traceparent` when it
 * sent one. Tasks queued inside carry this span's context, so their spans are its children.
 * Without an OpenTelemetry SDK registered, every call here is a no-op.
 */
export function withRequestSpan<T>(name: string, headers: IncomingHttpHeaders, fn: (span: Span) => Promise<T>): Promise<T> {
  const parent = propagation.extract(context.active(), headers);
  return tracer().startActiveSpan(name, { kind: SpanKind.SERVER }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      span.end();
    }
  });
}
