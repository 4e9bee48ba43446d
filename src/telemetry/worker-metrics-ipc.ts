import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { metrics } from './metrics.js';

export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

interface MetricsMessage {
  type: 'klue:metrics';
  id: string;
  metrics?: MetricsJson;
}

function isMetricsMessage(m: unknown): m is MetricsMessage {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'klue:metrics';
}

/**
 * In a worker started by `klue start`: answer the supervisor's metric requests over the IPC
 * channel, so the server's `/metrics` includes this worker's task counters without any port.
 */
export function answerMetricsRequests(): void {
  if (!process.send) return;
  process.on('message', (m: unknown) => {
    if (!isMetricsMessage(m) || m.metrics) return;
    void metrics()
      .registry.getMetricsAsJSON()
      .then((json) => process.send?.({ type: 'klue:metrics', id: m.id, metrics: json } satisfies MetricsMessage));
  });
  // The IPC channel must not keep a worker alive once it has shut down.
  process.channel?.unref();
}

/** Asks one worker for its metrics; a worker that does not answer within `timeoutMs` is left out. */
export function requestMetrics(child: ChildProcess, timeoutMs = 1000): Promise<MetricsJson | undefined> {
  if (!child.connected) return Promise.resolve(undefined);
  const id = randomUUID();
  return new Promise((resolve) => {
    const done = (value: MetricsJson | undefined) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(value);
    };
    const onMessage = (m: unknown) => {
      if (isMetricsMessage(m) && m.id === id) done(m.metrics);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    child.on('message', onMessage);
    child.send({ type: 'klue:metrics', id } satisfies MetricsMessage, (err) => {
      if (err) done(undefined);
    });
  });
}
