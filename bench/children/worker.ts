// A worker process: klue's worker (envelope check, context restore), a raw BullMQ Worker, or a
// step between the two, all on the fixture's tasks.
import { AsyncLocalStorage, createHook } from 'node:async_hooks';
import { Worker, type Job } from 'bullmq';
import { childArgs, fixtureDir, RAW_PREFIX, RAW_QUEUE, rssMb, sleep, summarize, toParent } from '../lib/common.js';
import { bullQueueName, createRootLogger, decodeValue, getTask, jobDataJson, KlueBullWorker, loadConfig, MemoryRunLedger, loadService, openEnvelope, processJob, queuePrefix, resolveSecret, rootLogger, runInContext, startAsync, startWorker } from '../lib/klue.js';
import { startProfiler } from '../lib/profiler.js';
import { isRawVariant, type WorkerVariant } from '../lib/worker-run.js';
import { benchState, nowMs } from '../lib/state.js';

/**
 * Steps from a raw Worker on klue's jobs to klue's processor (bench/worker-ablation.ts): what
 * each part of a task run costs.
 */
export type AblationStep = 'jobs-only' | 'envelope' | 'context' | 'process-job';

interface WorkerArgs {
  /**
   * raw-als: the raw Worker with its processor in an AsyncLocalStorage.run; raw-ctx: in klue's
   * runInContext instead, with the propagation klue uses by default (promise hooks on Node 20).
   */
  variant: WorkerVariant;
  redisUrl: string;
  concurrency: number;
  /** Report once this many tasks ran. */
  n: number;
  /** Profile the run (from 'go' to 'done') into this .cpuprofile file. */
  profileTo?: string;
  /** Count the async resources (promises, ticks, timers...) made from 'go' to 'done', by type. */
  countAsync?: boolean;
}

const args = childArgs<WorkerArgs>();
const state = benchState();
let close: () => Promise<void>;
let start: () => Promise<void>;
if (args.variant === 'klue') {
  const config = await loadConfig({ dir: fixtureDir });
  createRootLogger({ service: config.name, role: 'worker' });
  await loadService(config);
  await startAsync(config, 'worker');
  start = async () => {
    const worker = await startWorker(config, { concurrency: args.concurrency });
    close = () => worker.close();
  };
} else if (!isRawVariant(args.variant)) {
  const step = args.variant;
  const config = await loadConfig({ dir: fixtureDir });
  createRootLogger({ service: config.name, role: 'worker' });
  await loadService(config);
  await startAsync(config, 'worker');
  const secret = resolveSecret(config);
  const ledger = new MemoryRunLedger();
  const steps: Record<AblationStep, (job: Job) => Promise<unknown>> = {
    'jobs-only': async () => {
      state.done++;
    },
    envelope: async (job) => {
      openEnvelope(job.data, secret, config.async.max_payload, jobDataJson(job));
      state.done++;
    },
    // The task counts itself from here on.
    context: async (job) => {
      const payload = openEnvelope(job.data, secret, config.async.max_payload, jobDataJson(job));
      const def = getTask(payload.task);
      if (!def) throw new Error(`no task ${payload.task}`);
      const taskArgs = decodeValue(payload.args) as never[];
      return { r: await runInContext({ ctx: payload.ctx, log: rootLogger() }, () => def.fn(...taskArgs)) };
    },
    'process-job': (job) =>
      processJob(
        { data: job.data, dataJson: jobDataJson(job), jobId: job.id ?? '', jobName: job.name, queue: 'default', delay: 0, priority: 0, repeated: false, attempt: job.attemptsMade + 1, attempts: job.opts.attempts ?? 1 },
        config,
        secret,
        ledger,
      ),
  };
  start = async () => {
    // klue's Worker class (it keeps each job's stored data for the envelope check), with the step as processor.
    const worker = new KlueBullWorker(bullQueueName('default'), steps[step], {
      connection: { url: args.redisUrl, maxRetriesPerRequest: null },
      prefix: queuePrefix(config),
      concurrency: args.concurrency,
    });
    await worker.waitUntilReady();
    close = () => worker.close();
  };
} else {
  const variant = args.variant;
  start = async () => {
    const processor = async (job: Job) => {
      if (job.name === 'benchLatency') state.latenciesUs.push(Math.round((nowMs() - (job.data as { args: [number] }).args[0]) * 1000));
      state.done++;
    };
    const storage = new AsyncLocalStorage<{ id: string | undefined }>();
    const log = createRootLogger({ service: 'bench', role: 'worker' });
    const inContext = {
      raw: processor,
      'raw-als': (job: Job) => storage.run({ id: job.id }, () => processor(job)),
      'raw-ctx': (job: Job) => runInContext({ ctx: { request: { id: job.id ?? '', method: 'POST', url: '/orders' } }, log }, () => processor(job)),
    };
    const worker = new Worker(
      RAW_QUEUE,
      inContext[variant],
      { connection: { url: args.redisUrl, maxRetriesPerRequest: null }, prefix: RAW_PREFIX, concurrency: args.concurrency },
    );
    await worker.waitUntilReady();
    close = () => worker.close();
  };
}
toParent({ type: 'loaded', rssMb: rssMb(process.pid) });
process.once('message', () => {
  void (async () => {
    const profiler = args.profileTo ? await startProfiler() : undefined;
    // An init hook turns on async_hooks for the whole process: the counting run's speed means nothing.
    const made: Record<string, number> = {};
    const counter = args.countAsync ? createHook({ init: (_id, type) => void (made[type] = (made[type] ?? 0) + 1) }).enable() : undefined;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await start();
    toParent({ type: 'ready', rssMb: rssMb(process.pid) });
    let firstAt = 0;
    while (state.done < args.n) {
      if (!firstAt && state.done > 0) firstAt = performance.now();
      await sleep(2);
    }
    const t1 = performance.now();
    const cpu = process.cpuUsage(cpu0);
    counter?.disable();
    toParent({
      type: 'done',
      seconds: (t1 - t0) / 1000,
      tasksPerSec: Math.round((args.n / (t1 - t0)) * 1000),
      endedAtMs: nowMs(),
      rssMb: rssMb(process.pid),
      latencyUs: state.latenciesUs.length ? summarize(state.latenciesUs) : undefined,
      cpuUsPerTask: Math.round((cpu.user + cpu.system) / args.n),
      asyncPerTask: counter ? Object.fromEntries(Object.entries(made).map(([type, k]) => [type, Math.round((k / args.n) * 100) / 100])) : undefined,
    });
    if (profiler && args.profileTo) {
      await profiler.stop(args.profileTo);
      toParent({ type: 'profiled', file: args.profileTo });
    }
    await close();
    process.exit(0);
  })();
});
