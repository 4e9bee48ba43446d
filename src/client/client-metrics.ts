import { Counter, Histogram } from 'prom-client';
import { metrics } from '../telemetry/metrics.js';
import { processSingleton } from '../util/process-singleton.js';

/** The client's Prometheus metrics, in the process' registry (so a worker's reach `/metrics` too). */
export interface ClientMetrics {
  requests: Counter<'api' | 'operation' | 'status'>;
  duration: Histogram<'api' | 'operation' | 'status'>;
}

let made: ClientMetrics | undefined;

/** Made on the first call: a service that calls no API has no client metrics. */
export function clientMetrics(): ClientMetrics {
  return (made ??= processSingleton('klue.client.metrics', () => {
    const registers = [metrics().registry];
    return {
      requests: new Counter({
        name: 'klue_client_requests_total',
        help: 'Calls to other APIs by API, operation and status (the HTTP status, or timeout / unavailable when there was no answer)',
        labelNames: ['api', 'operation', 'status'],
        registers,
      }),
      duration: new Histogram({
        name: 'klue_client_request_duration_seconds',
        help: 'Duration of calls to other APIs, retries included, by API, operation and status',
        labelNames: ['api', 'operation', 'status'],
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers,
      }),
    };
  }));
}
