import type { FastifyInstance } from 'fastify';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { KlueConfig } from '../config/config-types.js';
import { QueueAdmin } from '../ops/queue-admin.js';
import { metrics } from './metrics.js';

type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** Something else whose metrics the server's `/metrics` includes (the workers it supervises). */
export type MetricsSource = () => Promise<MetricsJson[]>;

const KEY = Symbol.for('klue.metrics.sources');
const holder = globalThis as unknown as Record<symbol, Set<MetricsSource> | undefined>;
const sources: Set<MetricsSource> = (holder[KEY] ??= new Set<MetricsSource>());

export function addMetricsSource(source: MetricsSource): () => void {
  sources.add(source);
  return () => sources.delete(source);
}

/** Reads queue depths into the gauges; a Redis that does not answer in time leaves them as they were. */
async function refreshQueueGauges(admin: QueueAdmin): Promise<void> {
  const gauge = metrics().queueJobs;
  const stats = await Promise.race([admin.stats(), new Promise<undefined>((r) => setTimeout(() => r(undefined), 1000).unref())]);
  for (const s of stats ?? []) {
    for (const state of ['waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed'] as const) {
      gauge.set({ queue: s.queue, state }, s[state]);
    }
  }
}

/**
 * `GET <path>`: this process' metrics merged with every registered source's (counters summed
 * across processes, so `klue_tasks_completed_total` counts every worker's runs).
 */
export function registerMetricsEndpoint(app: FastifyInstance, config: KlueConfig, path: string): void {
  const own = metrics().registry;
  const admin = config.with_async && config.async.mode === 'queue' ? new QueueAdmin(config, 'producer') : undefined;
  app.addHook('onClose', async () => admin?.close());
  app.get(path, async (_request, reply) => {
    if (admin) await refreshQueueGauges(admin).catch(() => undefined);
    const others = (await Promise.all([...sources].map((s) => s().catch(() => [] as MetricsJson[])))).flat();
    const body =
      others.length === 0
        ? await own.metrics()
        : await AggregatorRegistry.aggregate([await own.getMetricsAsJSON(), ...others]).metrics();
    return reply.header('content-type', own.contentType).send(body);
  });
}
