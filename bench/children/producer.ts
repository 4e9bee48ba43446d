// Task calls from a "server" process: klue's task call inside request contexts, or raw BullMQ queue.add().
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Queue } from 'bullmq';
import { childArgs, fixtureDir, ORDER, RAW_JOB_OPTS, RAW_PREFIX, RAW_QUEUE, sleep, summarize, toParent } from '../lib/common.js';
import { nowMs } from '../lib/state.js';
import { createRootLogger, loadConfig, loadService, runInContext, settlePending, startAsync, stopAsync, type ContextStore } from '../lib/klue.js';

type Variant = 'klue' | 'raw';
interface ProducerArgs {
  mode: 'seq' | 'paced' | 'fill' | 'steady' | 'max';
  redisUrl: string;
  variant?: Variant;
  /** seq, fill, max: calls. */
  n?: number;
  rounds?: number;
  /** paced, steady: calls per second, for `seconds`. */
  rate?: number;
  seconds?: number;
  /** max: calls in flight. */
  window?: number;
}

const args = childArgs<ProducerArgs>();
const config = await loadConfig({ dir: fixtureDir });
const logger = createRootLogger({ service: config.name, role: 'server' });
await loadService(config);
const handlers = (await import(pathToFileURL(join(fixtureDir, 'handlers', 'bench.ts')).href)) as typeof import('../fixture/handlers/bench.js');
await startAsync(config, 'server');
const raw = new Queue(RAW_QUEUE, { connection: { url: args.redisUrl }, prefix: RAW_PREFIX });
await raw.waitUntilReady();

let requests = 0;
/** A context like the one the server makes for a request. */
function requestStore(): ContextStore {
  const id = `bench-${++requests}`;
  return { ctx: { request: { id, method: 'POST', url: '/orders' } }, log: logger, pending: new Set() };
}

/** One call of the no-op task with the order as argument, from inside `store`. */
function callNoop(variant: Variant, store: ContextStore): Promise<unknown> {
  if (variant === 'raw') return raw.add('benchNoop', { args: [ORDER] }, RAW_JOB_OPTS);
  return runInContext(store, () => handlers.benchNoop(ORDER));
}

function callLatency(variant: Variant, store: ContextStore, sentAt: number): Promise<unknown> {
  if (variant === 'raw') return raw.add('benchLatency', { args: [sentAt] }, RAW_JOB_OPTS);
  return runInContext(store, () => handlers.benchLatency(sentAt));
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/** `n` calls one after the other inside one request context: calls/s, p50 and p99 µs. */
async function sequential(variant: Variant, n: number) {
  const store = requestStore();
  const times: number[] = [];
  const start = nowUs();
  for (let i = 0; i < n; i++) {
    const t = nowUs();
    await callNoop(variant, store);
    times.push(nowUs() - t);
  }
  const total = nowUs() - start;
  await settlePending(store);
  const s = summarize(times);
  return { callsPerSec: Math.round((n / total) * 1e6), p50Us: s.p50, p99Us: s.p99 };
}

/** Calls started at a steady `rate` per second (open loop), each in its own request context. */
async function paced(rate: number, seconds: number, start: (store: ContextStore) => Promise<unknown>) {
  const total = Math.round(rate * seconds);
  const times: number[] = [];
  const inflight = new Set<Promise<void>>();
  const t0 = performance.now();
  let started = 0;
  while (started < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
    for (; started < due; started++) {
      const store = requestStore();
      const t = nowUs();
      const p = start(store)
        .then(() => settlePending(store))
        .then(() => {
          times.push(nowUs() - t);
        })
        .finally(() => inflight.delete(p));
      inflight.add(p);
    }
    await sleep(1);
  }
  await Promise.all(inflight);
  const elapsed = (performance.now() - t0) / 1000;
  const s = summarize(times);
  return { rate: Math.round(total / elapsed), p50Us: s.p50, p99Us: s.p99, maxUs: s.max };
}

/** `n` calls with `window` in flight at any time. */
async function windowed(n: number, window: number, start: (store: ContextStore) => Promise<unknown>) {
  let next = 0;
  const t0 = nowMs();
  const lane = async () => {
    while (next < n) {
      next++;
      const store = requestStore();
      await start(store);
      await settlePending(store);
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
  const t1 = nowMs();
  return { startedAtMs: t0, endedAtMs: t1, callsPerSec: Math.round((n / (t1 - t0)) * 1000) };
}

const variant = args.variant ?? 'klue';
let result: Record<string, unknown>;
switch (args.mode) {
  case 'seq': {
    // A/B/A/B in this process; the first round of each is a warm-up, not reported.
    const n = args.n ?? 5000;
    await sequential('klue', 500);
    await sequential('raw', 500);
    const rounds: { klue: unknown; raw: unknown }[] = [];
    for (let r = 0; r < (args.rounds ?? 3); r++) {
      const order: Variant[] = r % 2 ? ['raw', 'klue'] : ['klue', 'raw'];
      const round: Record<string, unknown> = {};
      for (const v of order) round[v] = await sequential(v, n);
      rounds.push(round as { klue: unknown; raw: unknown });
    }
    result = { rounds };
    break;
  }
  case 'paced': {
    const rate = args.rate ?? 1000;
    const seconds = args.seconds ?? 5;
    await paced(rate, 1, (s) => callNoop('klue', s));
    await paced(rate, 1, (s) => callNoop('raw', s));
    const rounds: Record<string, unknown>[] = [];
    for (let r = 0; r < (args.rounds ?? 3); r++) {
      const order: Variant[] = r % 2 ? ['raw', 'klue'] : ['klue', 'raw'];
      const round: Record<string, unknown> = {};
      for (const v of order) round[v] = await paced(rate, seconds, (s) => callNoop(v, s));
      rounds.push(round);
    }
    result = { rounds };
    break;
  }
  case 'fill': {
    const n = args.n ?? 50_000;
    const t0 = performance.now();
    for (let done = 0; done < n; ) {
      const chunk = Math.min(1000, n - done);
      if (variant === 'raw') {
        await raw.addBulk(Array.from({ length: chunk }, () => ({ name: 'benchNoop', data: { args: [ORDER] }, opts: RAW_JOB_OPTS })));
      } else {
        const store = requestStore();
        await Promise.all(Array.from({ length: chunk }, () => callNoop('klue', store)));
        await settlePending(store);
      }
      done += chunk;
    }
    result = { n, seconds: (performance.now() - t0) / 1000 };
    break;
  }
  case 'steady':
    result = await paced(args.rate ?? 500, args.seconds ?? 10, (s) => callLatency(variant, s, nowMs()));
    break;
  case 'max':
    result = await windowed(args.n ?? 20_000, args.window ?? 100, (s) => callLatency(variant, s, nowMs()));
    break;
}
toParent({ type: 'result', ...result });
await raw.close();
await stopAsync();
process.exit(0);
