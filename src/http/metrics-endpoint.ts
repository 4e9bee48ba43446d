import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { bearerSecretProblem } from '../auth/authorization.js';
import { isProduction, type KlueConfig } from '../core/config/config-types.js';
import { KlueError } from '../core/errors/klue-error.js';
import { QueueAdmin } from '../tasks/transport/queue-admin.js';
import { sendError } from './error-response.js';
import { listenError } from './listen-error.js';
import { waitAtMost } from '../util/wait-at-most.js';
import { metrics } from '../telemetry/metrics.js';
import { processSingleton } from '../util/process-singleton.js';

type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** Something else whose metrics the server's `/metrics` includes (the workers it supervises). */
export type MetricsSource = () => Promise<MetricsJson[]>;

const sources = processSingleton('klue.metrics.sources', () => new Set<MetricsSource>());

export function addMetricsSource(source: MetricsSource): () => void {
  sources.add(source);
  return () => sources.delete(source);
}

/** Ms a scrape waits for the queue depths; a Redis that does not answer in time leaves the gauges as they were. */
const QUEUE_READ_WAIT_MS = 1000;

/**
 * The `klue_queue_jobs` gauges, read from Redis by one read at a time and at most once per
 * `maxAgeMs` (`metrics_queue_max_age`): scrapes in between reuse the last depths, so a storm of
 * scrapes costs Redis one read per period, not one per scrape.
 */
export class QueueGauges {
  private reading: Promise<void> | undefined;
  private readAt = -Infinity;

  constructor(
    private readonly admin: QueueAdmin,
    private readonly maxAgeMs: number,
  ) {}

  /** Resolves once the gauges are at most `maxAgeMs` old (or the read failed: they keep their values, and the next call reads). */
  refresh(): Promise<void> {
    if (this.reading) return this.reading;
    if (performance.now() - this.readAt < this.maxAgeMs) return Promise.resolve();
    this.readAt = performance.now();
    const gauge = metrics().queueJobs;
    this.reading = this.admin
      .stats()
      .then(
        (stats) => {
          for (const s of stats) {
            for (const state of ['waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed'] as const) {
              gauge.set({ queue: s.queue, state }, s[state]);
            }
          }
        },
        () => {
          // A read that failed (Redis not connected yet, or away) is not a read: the next scrape
          // tries again rather than the gauges staying empty for a whole period. It cost Redis
          // nothing, and reads still go one at a time.
          this.readAt = -Infinity;
        },
      )
      .finally(() => {
        this.reading = undefined;
      });
    return this.reading;
  }
}

/**
 * Renders this process' metrics merged with every registered source's (counters summed across
 * processes, so `klue_tasks_completed_total` counts every worker's runs). Scrapes that arrive
 * while one is being rendered get that one's text.
 */
export class MetricsScraper {
  private rendering: Promise<string> | undefined;

  constructor(private readonly gauges?: QueueGauges) {}

  render(): Promise<string> {
    return (this.rendering ??= this.build().finally(() => {
      this.rendering = undefined;
    }));
  }

  private async build(): Promise<string> {
    if (this.gauges) await waitAtMost(this.gauges.refresh(), QUEUE_READ_WAIT_MS);
    const own = metrics().registry;
    const others = (await Promise.all([...sources].map((s) => s().catch(() => [] as MetricsJson[])))).flat();
    return others.length === 0 ? own.metrics() : AggregatorRegistry.aggregate([await own.getMetricsAsJSON(), ...others]).metrics();
  }
}

function metricsHandler(scraper: MetricsScraper, token: string | undefined) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const problem = token === undefined ? undefined : bearerSecretProblem(request.raw, token, 'metrics_token');
    if (problem) throw problem;
    const body = await scraper.render();
    return reply.header('content-type', metrics().registry.contentType).send(body);
  };
}

/** Serves `path` on `port` (all interfaces) while `app` runs: Prometheus scrapes it there, out of the public port's reach. */
function serveOnOwnPort(app: FastifyInstance, port: number, path: string, handler: ReturnType<typeof metricsHandler>): void {
  const server = Fastify({ loggerInstance: app.log, logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'req_id' }) });
  server.setErrorHandler(async (err, request, reply) => {
    await sendError(err, request, reply);
  });
  server.setNotFoundHandler(async (request, reply) => {
    await sendError(new KlueError('ROUTE_NOT_FOUND', `The metrics port serves only GET ${path}`), request, reply);
  });
  server.get(path, handler);
  // On ready rather than on listen: a port that is taken fails the start instead of being logged.
  app.addHook('onReady', async () => {
    try {
      await server.listen({ port, host: '0.0.0.0' });
    } catch (err) {
      throw listenError(err as Error, port, '0.0.0.0', 'the port of the metrics (metrics_port)');
    }
    app.log.info({ metrics_port: port, metrics_path: path }, 'metrics served on their own port');
  });
  app.addHook('onClose', async () => server.close());
}

/**
 * `GET <path>` (`metrics_path`). Where: on `metrics_port` when it is set (and then not on the
 * main port); else on the main port, except in production without `metrics_token`, where the
 * metrics are not served (404) rather than open to anyone who reaches the service. With
 * `metrics_token`, every scrape must send it as a bearer token (401 otherwise).
 */
export function registerMetricsEndpoint(app: FastifyInstance, config: KlueConfig, path: string): void {
  const ownPort = config.metrics_port;
  if (ownPort === undefined && isProduction(config) && config.metrics_token === undefined) {
    app.log.info({ metrics_path: path }, 'metrics not served: in production set metrics_port or metrics_token');
    return;
  }
  const admin = config.with_async && config.async.mode === 'queue' ? new QueueAdmin(config, 'producer') : undefined;
  app.addHook('onClose', async () => admin?.close());
  const scraper = new MetricsScraper(admin && new QueueGauges(admin, config.metrics_queue_max_age));
  const handler = metricsHandler(scraper, config.metrics_token);
  if (ownPort === undefined) app.get(path, handler);
  else serveOnOwnPort(app, ownPort, path, handler);
}
