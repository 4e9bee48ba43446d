/**
 * `npm run bench` (or `node --import tsx bench/run.ts [--quick] [--only http,enqueue,worker,e2e,memory,startup,client]`):
 * klue against bare Fastify and bare BullMQ in the same run, on a private redis-server.
 * Every pair is interleaved A/B/A/B; medians and ratios are printed and written to
 * bench/results/latest.json. Only ratios within one run mean anything.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { freePort, startRedis, stopAndClean } from '../test/helpers/redis.js';
import type { LoadArgs } from './children/load.js';
import { drainQueued, fillQueue, type WorkerRun, type WorkerVariant } from './lib/worker-run.js';
import { measureStartup, startupRows } from './startup.js';
import { measureClient } from './client.js';
import { benchDir, cpuSeconds, fixtureDir, median, quartiles, repoRoot, rssMb, runtimeTsconfig, sleep, spawnChild, type Child, type Message } from './lib/common.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const onlyArg = argv.find((a) => a.startsWith('--only='))?.slice(7) ?? (argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined);
const only = onlyArg ? new Set(onlyArg.split(',')) : undefined;
const runs = (section: string) => !only || only.has(section);

const S = quick
  ? { httpSeconds: 1, httpRounds: 6, rateSeconds: 3, rateRounds: 2, warmup: 1, enqueueN: 2000, enqueueRounds: 2, workerN: 10_000, workerRounds: 2, e2eSeconds: 4, e2eRounds: 2, maxN: 5000, memoryN: 10_000, settleMs: 5000 }
  : { httpSeconds: 1, httpRounds: 25, rateSeconds: 6, rateRounds: 5, warmup: 2, enqueueN: 5000, enqueueRounds: 3, workerN: 50_000, workerRounds: 5, e2eSeconds: 8, e2eRounds: 3, maxN: 20_000, memoryN: 50_000, settleMs: 22_000 };

const redis = await startRedis();
// Every child (klue server, producer, worker, CLI) uses this Redis.
process.env.REDIS_URL = redis.url;
const admin = new Redis(redis.url);
const redisPid = redis.process.pid ?? -1;
const results: Record<string, unknown> = {};
const startedAt = new Date();

function machine() {
  const version = execFileSync('redis-server', ['--version']).toString();
  const redisVersion = /v=(\S+)/.exec(version)?.[1] ?? version.trim();
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    redis: redisVersion,
    loadavgAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

const fmt = (x: number | undefined, digits = 0) => (x === undefined || !Number.isFinite(x) ? '-' : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;

/**
 * Variant x over variant y, round by round (both measured minutes apart at most): steadier than
 * a ratio of medians on a machine whose speed drifts. `median` is what a target is read from; a
 * wide `middle` half says the machine was too noisy for the median to settle it.
 */
function roundRatios<R>(rounds: Record<string, R | undefined>[], value: (r: R) => number, x: string, y: string): { median: number; middle: number[] } {
  const each = rounds.map((r) => {
    const a = r[x];
    const b = r[y];
    return a === undefined || b === undefined ? NaN : value(a) / value(b);
  });
  return { median: median(each), middle: quartiles(each).map((q) => ratio(q, 1)) };
}

function table(title: string, head: string[], rows: (string | number)[][]): void {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  console.log(`\n${title}`);
  for (const [k, r] of cells.entries()) {
    console.log('  ' + r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  '));
    if (k === 0) console.log('  ' + widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

async function flush(): Promise<void> {
  await admin.flushall();
}

async function oneShot(script: string, args: Record<string, unknown>, type = 'result'): Promise<Message> {
  const child = spawnChild(script, args);
  try {
    return await child.next(type);
  } finally {
    await child.stop();
  }
}

const rotate = <T>(xs: T[], r: number): T[] => xs.map((_, i) => xs[(i + r) % xs.length] as T);

// ---------------------------------------------------------------- 1. HTTP
async function httpSection(): Promise<void> {
  const klue = spawnChild('klue-server.ts', {}, { REDIS_URL: redis.url });
  const bare = spawnChild('bare-server.ts', { redisUrl: redis.url });
  const bareAls = spawnChild('bare-server.ts', { redisUrl: redis.url, als: true });
  const bareCtx = spawnChild('bare-server.ts', { redisUrl: redis.url, ctx: true });
  const load = spawnChild('load.ts', {});
  try {
    const klueUrl = String((await klue.next('ready')).url);
    const bareUrl = String((await bare.next('ready')).url);
    const bareAlsUrl = String((await bareAls.next('ready')).url);
    const bareCtxUrl = String((await bareCtx.next('ready')).url);
    const variants: { key: string; label: string; url: string; server: Child }[] = [
      { key: 'a', label: '(a) klue, queues a task', url: `${klueUrl}/orders`, server: klue },
      { key: 'b', label: '(b) klue, no task', url: `${klueUrl}/orders/check`, server: klue },
      { key: 'c', label: '(c) bare Fastify', url: `${bareUrl}/orders/check`, server: bare },
      { key: 'c_als', label: "(c') bare Fastify + AsyncLocalStorage", url: `${bareAlsUrl}/orders/check`, server: bareAls },
      { key: 'c_ctx', label: "(c'') bare Fastify + klue's context", url: `${bareCtxUrl}/orders/check`, server: bareCtx },
      { key: 'd', label: '(d) bare Fastify + queue.add()', url: `${bareUrl}/orders`, server: bare },
    ];
    // One load generator for the whole section: a round's slices follow each other within a
    // second or so, so that a change of the machine's speed (on some VMs it swings by 2x over
    // tens of seconds) falls on both sides of a ratio rather than between them.
    await load.next('ready');
    const measure = async (args: LoadArgs): Promise<Message> => {
      load.send({ type: 'run', ...args });
      return load.next('result');
    };
    for (const v of variants) await measure({ url: v.url, seconds: S.warmup, connections: 50 });
    const rounds: Record<string, Record<string, number>>[] = [];
    for (let r = 0; r < S.httpRounds; r++) {
      const round: Record<string, Record<string, number>> = {};
      for (const v of rotate(variants, r)) {
        await flush();
        const cpu0 = cpuSeconds(v.server.pid);
        const rcpu0 = cpuSeconds(redisPid);
        const lcpu0 = cpuSeconds(load.pid);
        const res = await measure({ url: v.url, seconds: S.httpSeconds, connections: 50 });
        const cpu = cpuSeconds(v.server.pid) - cpu0;
        const rcpu = cpuSeconds(redisPid) - rcpu0;
        const lcpu = cpuSeconds(load.pid) - lcpu0;
        const ok = Number(res.ok);
        round[v.key] = {
          rps: Math.round(Number(res.rps)),
          p50: Number(res.p50),
          p99: Number(res.p99),
          errors: Number(res.errors) + Number(res.non2xx) + Number(res.timeouts),
          serverCpuUsPerReq: Math.round((cpu / ok) * 1e6),
          redisCpuUsPerReq: Math.round((rcpu / ok) * 1e6),
          loadCpuUsPerReq: Math.round((lcpu / ok) * 1e6),
        };
        process.stdout.write(`  http round ${r + 1} ${v.key}: ${round[v.key]?.rps} req/s\n`);
      }
      rounds.push(round);
    }
    const med = (key: string, field: string) => median(rounds.map((r) => r[key]?.[field] ?? NaN));
    const m = Object.fromEntries(variants.map((v) => [v.key, { rps: med(v.key, 'rps'), p50: med(v.key, 'p50'), p99: med(v.key, 'p99'), serverCpuUsPerReq: med(v.key, 'serverCpuUsPerReq'), redisCpuUsPerReq: med(v.key, 'redisCpuUsPerReq'), loadCpuUsPerReq: med(v.key, 'loadCpuUsPerReq'), errors: med(v.key, 'errors') }]));
    const pair = (x: string, y: string) => roundRatios(rounds, (r) => r.rps ?? NaN, x, y);
    const paired = (x: string, y: string) => pair(x, y).median;
    const aOverB = pair('a', 'b');
    const bOverC = pair('b', 'c');
    const ratios = {
      a_over_b: ratio(aOverB.median, 1),
      b_over_c: ratio(bOverC.median, 1),
      b_over_c_als: ratio(paired('b', 'c_als'), 1),
      c_als_over_c: ratio(paired('c_als', 'c'), 1),
      c_ctx_over_c: ratio(paired('c_ctx', 'c'), 1),
      d_over_c: ratio(paired('d', 'c'), 1),
      a_over_d: ratio(paired('a', 'd'), 1),
    };
    // The middle half of the per-round ratios: a wide one says the machine was too noisy to tell.
    const spread = { a_over_b: aOverB.middle, b_over_c: bOverC.middle };
    table(`1. HTTP, 50 connections, ${S.httpSeconds} s x ${S.httpRounds} rounds, the variants interleaved (medians)`, ['endpoint', 'req/s', 'p50 ms', 'p99 ms', 'server CPU µs/req', 'redis CPU µs/req', 'load gen CPU µs/req', 'errors'],
      variants.map((v) => [v.label, fmt(m[v.key]?.rps), fmt(m[v.key]?.p50, 1), fmt(m[v.key]?.p99, 1), fmt(m[v.key]?.serverCpuUsPerReq), fmt(m[v.key]?.redisCpuUsPerReq), fmt(m[v.key]?.loadCpuUsPerReq), fmt(m[v.key]?.errors)]));
    console.log(`  ratios (median of per-round ratios): a/d ${ratios.a_over_d} (target >= 1.15: klue's task-queuing endpoint against a Fastify route calling queue.add()), a/b ${ratios.a_over_b} (middle half ${spread.a_over_b.join('–')}), b/c ${ratios.b_over_c} (middle half ${spread.b_over_c.join('–')}), b/c' ${ratios.b_over_c_als}, c'/c ${ratios.c_als_over_c}, c''/c ${ratios.c_ctx_over_c}, d/c ${ratios.d_over_c}`);

    // When the machine's cores are the limit (server, Redis and load generator share them), a
    // variant's req/s goes as the inverse of all the CPU one of its requests costs: this is the
    // a/b (and b/c) that costs alone allow, whatever the code does with its waiting. On a machine
    // whose speed moves from one second to the next, these move less than the per-round ratios.
    const allCpu = (k: string) => (m[k]?.serverCpuUsPerReq ?? NaN) + (m[k]?.redisCpuUsPerReq ?? NaN) + (m[k]?.loadCpuUsPerReq ?? NaN);
    const cpuBound = { a_over_b: ratio(allCpu('b') / allCpu('a'), 1), b_over_c: ratio(allCpu('c') / allCpu('b'), 1), cores: cpus().length };
    console.log(
      `  CPU per request, all processes: a ${fmt(allCpu('a'))} µs, b ${fmt(allCpu('b'))} µs, c ${fmt(allCpu('c'))} µs; on ${cpuBound.cores} saturated cores that allows at most a/b ${cpuBound.a_over_b}, b/c ${cpuBound.b_over_c}`,
    );

    // The same endpoints at a steady 1,000 requests/s: latency, not throughput.
    const paced = variants.filter((v) => v.key !== 'c' && v.key !== 'c_als' && v.key !== 'c_ctx');
    const rateRounds: Record<string, Record<string, number>>[] = [];
    for (let r = 0; r < S.rateRounds; r++) {
      const round: Record<string, Record<string, number>> = {};
      for (const v of rotate(paced, r)) {
        await flush();
        const res = await measure({ url: v.url, seconds: S.rateSeconds, connections: 50, rate: 1000 });
        round[v.key] = { rps: Math.round(Number(res.rps)), p50: Number(res.p50), p99: Number(res.p99) };
      }
      rateRounds.push(round);
    }
    const rm = Object.fromEntries(paced.map((v) => [v.key, { rps: median(rateRounds.map((r) => r[v.key]?.rps ?? NaN)), p50: median(rateRounds.map((r) => r[v.key]?.p50 ?? NaN)), p99: median(rateRounds.map((r) => r[v.key]?.p99 ?? NaN)) }]));
    table('   at a steady 1,000 requests/s (autocannon overallRate; latency in ms, autocannon resolution)', ['endpoint', 'req/s', 'p50 ms', 'p99 ms'],
      paced.map((v) => [v.label, fmt(rm[v.key]?.rps), fmt(rm[v.key]?.p50, 1), fmt(rm[v.key]?.p99, 1)]));
    results.http = { connections: 50, seconds: S.httpSeconds, rounds, medians: m, ratios, spread, cpuBound, at1000: { rounds: rateRounds, medians: rm } };
  } finally {
    await load.stop();
    await klue.stop();
    await bare.stop();
    await bareAls.stop();
    await bareCtx.stop();
  }
}

// ---------------------------------------------------------------- 2. Enqueue
async function enqueueSection(): Promise<void> {
  await flush();
  const seq = await oneShot('producer.ts', { mode: 'seq', redisUrl: redis.url, n: S.enqueueN, rounds: S.enqueueRounds });
  await flush();
  const paced = await oneShot('producer.ts', { mode: 'paced', redisUrl: redis.url, rate: 1000, seconds: S.rateSeconds, rounds: S.enqueueRounds });
  type R = Record<'klue' | 'raw', Record<string, number>>;
  const seqRounds = seq.rounds as R[];
  const pacedRounds = paced.rounds as R[];
  const med = (rs: R[], v: 'klue' | 'raw', f: string) => median(rs.map((r) => r[v][f] ?? NaN));
  const m = {
    sequential: { klue: { callsPerSec: med(seqRounds, 'klue', 'callsPerSec'), p50Us: med(seqRounds, 'klue', 'p50Us'), p99Us: med(seqRounds, 'klue', 'p99Us') }, raw: { callsPerSec: med(seqRounds, 'raw', 'callsPerSec'), p50Us: med(seqRounds, 'raw', 'p50Us'), p99Us: med(seqRounds, 'raw', 'p99Us') } },
    at1000: { klue: { rate: med(pacedRounds, 'klue', 'rate'), p50Us: med(pacedRounds, 'klue', 'p50Us'), p99Us: med(pacedRounds, 'klue', 'p99Us') }, raw: { rate: med(pacedRounds, 'raw', 'rate'), p50Us: med(pacedRounds, 'raw', 'p50Us'), p99Us: med(pacedRounds, 'raw', 'p99Us') } },
  };
  table(`2. Enqueue: ${S.enqueueN} sequential calls in one request context, x ${S.enqueueRounds} rounds (medians)`, ['caller', 'calls/s', 'p50 µs', 'p99 µs'], [
    ['klue task call', fmt(m.sequential.klue.callsPerSec), fmt(m.sequential.klue.p50Us), fmt(m.sequential.klue.p99Us)],
    ['raw queue.add()', fmt(m.sequential.raw.callsPerSec), fmt(m.sequential.raw.p50Us), fmt(m.sequential.raw.p99Us)],
  ]);
  table(`   at a steady 1,000 calls/s, each in its own request context, ${S.rateSeconds} s x ${S.enqueueRounds} rounds`, ['caller', 'calls/s', 'p50 µs', 'p99 µs'], [
    ['klue task call', fmt(m.at1000.klue.rate), fmt(m.at1000.klue.p50Us), fmt(m.at1000.klue.p99Us)],
    ['raw queue.add()', fmt(m.at1000.raw.rate), fmt(m.at1000.raw.p50Us), fmt(m.at1000.raw.p99Us)],
  ]);
  console.log(`  ratio klue/raw calls/s ${ratio(m.sequential.klue.callsPerSec, m.sequential.raw.callsPerSec)}; klue p99 at 1,000/s ${fmt(m.at1000.klue.p99Us)} µs (target: within raw's, ${fmt(m.at1000.raw.p99Us)} µs)`);
  results.enqueue = { n: S.enqueueN, sequential: seqRounds, at1000: pacedRounds, medians: m };
}

// ---------------------------------------------------------------- 3. Worker
async function workerRun(variant: WorkerVariant, concurrency: number, n: number): Promise<WorkerRun> {
  await flush();
  return drainQueued({ url: redis.url, pid: redisPid }, { variant, concurrency, n });
}

/** Median RSS of the c=10 worker runs after their last task, for the memory section's comparison. */
let workerRssAfter: { klue: number; raw: number } | undefined;

async function workerSection(): Promise<void> {
  const out: Record<string, unknown> = {};
  const rows: string[][] = [];
  for (const concurrency of [10, 100]) {
    const rounds: Record<string, WorkerRun>[] = [];
    for (let r = 0; r < S.workerRounds; r++) {
      const round: Record<string, WorkerRun> = {};
      for (const v of rotate<WorkerVariant>(['klue', 'raw', 'raw-als', 'raw-ctx'], r)) {
        round[v] = await workerRun(v, concurrency, S.workerN);
        process.stdout.write(`  worker c=${concurrency} round ${r + 1} ${v}: ${round[v]?.tasksPerSec} tasks/s\n`);
      }
      rounds.push(round);
    }
    const med = (v: WorkerVariant) => median(rounds.map((r) => r[v]?.tasksPerSec ?? NaN));
    const pair = (x: WorkerVariant, y: WorkerVariant) => roundRatios(rounds, (r) => r.tasksPerSec, x, y);
    const paired = (x: WorkerVariant, y: WorkerVariant) => ratio(pair(x, y).median, 1);
    const klueOverRaw = pair('klue', 'raw');
    const middle = klueOverRaw.middle;
    const k = med('klue');
    const raw = med('raw');
    const rawAls = med('raw-als');
    const rawCtx = med('raw-ctx');
    const cpu = Object.fromEntries((['klue', 'raw', 'raw-als', 'raw-ctx'] as const).map((v) => [v, median(rounds.map((r) => r[v]?.cpuUsPerTask ?? NaN))]));
    // Raw's worker CPU per task over klue's: the klue/raw a worker whose core is the limit can
    // reach; it moves less from round to round than tasks/s on a VM whose speed drifts.
    const cpuRatio = ratio((cpu.raw ?? NaN) / (cpu.klue ?? NaN), 1);
    const rssAfterMb = { klue: median(rounds.map((r) => r.klue?.rssMb ?? NaN)), raw: median(rounds.map((r) => r.raw?.rssMb ?? NaN)) };
    if (concurrency === 10) workerRssAfter = rssAfterMb;
    out[`c${concurrency}`] = {
      rounds,
      klue: k,
      raw,
      rawAls,
      rawCtx,
      ratio: ratio(klueOverRaw.median, 1),
      ratioMiddleHalf: middle,
      ratioToRawAls: paired('klue', 'raw-als'),
      rawAlsOverRaw: paired('raw-als', 'raw'),
      rawCtxOverRaw: paired('raw-ctx', 'raw'),
      cpuUsPerTask: cpu,
      cpuRatio,
      rssAfterMb,
    };
    rows.push([String(concurrency), fmt(k), fmt(raw), fmt(rawAls), fmt(rawCtx), `${paired('klue', 'raw')} (${middle.join('–')})`, `${cpuRatio} (${fmt(cpu.klue)} · ${fmt(cpu.raw)} µs)`, String(paired('raw-als', 'raw')), String(paired('raw-ctx', 'raw'))]);
  }
  table(`3. Worker: ${S.workerN.toLocaleString('en-US')} no-op tasks queued beforehand, x ${S.workerRounds} rounds (median tasks/s; ratios: median of per-round ratios)`, ['concurrency', 'klue worker', 'raw BullMQ Worker', 'raw + AsyncLocalStorage', "raw + klue's context", 'klue/raw (middle half; target >= 0.85)', 'by CPU per task (klue · raw)', 'raw+ALS/raw', 'raw+ctx/raw'], rows);
  results.worker = { n: S.workerN, ...out };
}

// ---------------------------------------------------------------- 4. End to end
async function e2eRun(variant: 'klue' | 'raw', mode: 'steady' | 'max'): Promise<Record<string, number>> {
  await flush();
  const n = mode === 'steady' ? 500 * S.e2eSeconds : S.maxN;
  const worker = spawnChild('worker.ts', { variant, redisUrl: redis.url, concurrency: mode === 'steady' ? 10 : 100, n });
  try {
    await worker.next('loaded');
    worker.send({ type: 'go' });
    await worker.next('ready');
    const produced = await oneShot('producer.ts', mode === 'steady'
      ? { mode, redisUrl: redis.url, variant, rate: 500, seconds: S.e2eSeconds }
      : { mode, redisUrl: redis.url, variant, n, window: 100 });
    const done = await worker.next('done');
    const lat = done.latencyUs as { p50: number; p99: number };
    if (mode === 'steady') return { rate: Number(produced.rate), p50Us: lat.p50, p99Us: lat.p99 };
    return { producerPerSec: Number(produced.callsPerSec), sustainedPerSec: Math.round((n / (Number(done.endedAtMs) - Number(produced.startedAtMs))) * 1000), p50Us: lat.p50, p99Us: lat.p99 };
  } finally {
    await worker.stop();
  }
}

async function e2eSection(): Promise<void> {
  const steady: Record<string, Record<string, number>>[] = [];
  const max: Record<string, Record<string, number>>[] = [];
  for (let r = 0; r < S.e2eRounds; r++) {
    const a: Record<string, Record<string, number>> = {};
    for (const v of rotate(['klue', 'raw'] as const, r)) a[v] = await e2eRun(v, 'steady');
    steady.push(a);
    const b: Record<string, Record<string, number>> = {};
    for (const v of rotate(['klue', 'raw'] as const, r)) b[v] = await e2eRun(v, 'max');
    max.push(b);
    process.stdout.write(`  e2e round ${r + 1}: steady p99 klue ${a.klue?.p99Us} raw ${a.raw?.p99Us} µs; sustained klue ${b.klue?.sustainedPerSec} raw ${b.raw?.sustainedPerSec}/s\n`);
  }
  const med = (rs: Record<string, Record<string, number>>[], v: string, f: string) => median(rs.map((r) => r[v]?.[f] ?? NaN));
  const m = {
    steady: Object.fromEntries(['klue', 'raw'].map((v) => [v, { p50Us: med(steady, v, 'p50Us'), p99Us: med(steady, v, 'p99Us') }])),
    max: Object.fromEntries(['klue', 'raw'].map((v) => [v, { sustainedPerSec: med(max, v, 'sustainedPerSec'), producerPerSec: med(max, v, 'producerPerSec') }])),
  };
  table(`4. End to end, producer and worker in separate processes, x ${S.e2eRounds} rounds (medians)`, ['', 'start latency p50 µs @500/s', 'p99 µs @500/s', `sustained tasks/s (${S.maxN.toLocaleString('en-US')} tasks)`], [
    ['klue (call in request ctx -> klue worker)', fmt(m.steady.klue?.p50Us), fmt(m.steady.klue?.p99Us), fmt(m.max.klue?.sustainedPerSec)],
    ['raw BullMQ (queue.add -> Worker)', fmt(m.steady.raw?.p50Us), fmt(m.steady.raw?.p99Us), fmt(m.max.raw?.sustainedPerSec)],
  ]);
  results.e2e = { steadyRate: 500, steadyWorkerConcurrency: 10, maxWorkerConcurrency: 100, producerWindow: 100, steady, max, medians: m };
}

// ---------------------------------------------------------------- 5. Memory
function klueCli(args: string[]): { pid: number; lines: string[]; stop(): Promise<void> } {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'klue.js'), ...args], {
    cwd: fixtureDir,
    env: { ...process.env, REDIS_URL: redis.url, LOG_LEVEL: 'info', TSX_TSCONFIG_PATH: runtimeTsconfig },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  child.stdout.on('data', (b: Buffer) => lines.push(...b.toString().split('\n')));
  return {
    pid: child.pid ?? -1,
    lines,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function memorySection(): Promise<void> {
  await flush();
  const port = await freePort();
  const server = klueCli(['start', '--no-worker', '--port', String(port), '--host', '127.0.0.1']);
  const worker = klueCli(['worker']);
  const queue = new Queue('{default}', { connection: { url: redis.url }, prefix: 'klue:bench' });
  try {
    await until(() => server.lines.some((l) => l.includes('listening')), 30_000, 'klue start');
    await until(() => worker.lines.some((l) => l.includes('worker serving')), 30_000, 'klue worker');
    await sleep(3000);
    const serverIdle = rssMb(server.pid);
    const workerIdle = rssMb(worker.pid);
    // V8's memory reducer shrinks an idle heap some 10-20 s after start: what an idle process
    // keeps is read after it has run, not only what it holds just after start.
    await sleep(S.settleMs);
    const serverSettled = rssMb(server.pid);
    const workerSettled = rssMb(worker.pid);
    const redisBefore = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))?.[1]);
    await fillQueue(redis.url, 'klue', S.memoryN);
    await until(async () => {
      const c = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized');
      return Object.values(c).every((x) => x === 0);
    }, 300_000, 'the worker to finish');
    await sleep(1000);
    const workerAfter = rssMb(worker.pid);
    const redisAfter = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))?.[1]);
    const m = { serverIdleRssMb: serverIdle, workerIdleRssMb: workerIdle, serverSettledRssMb: serverSettled, workerSettledRssMb: workerSettled, workerRssAfterMb: workerAfter, redisUsedMbBefore: Math.round(redisBefore / 1e5) / 10, redisUsedMbAfter: Math.round(redisAfter / 1e5) / 10 };
    table(`5. Memory (klue start --no-worker, klue worker; ${S.memoryN.toLocaleString('en-US')} tasks)`, ['what', 'MB'], [
      ['server idle RSS, 3 s after start', fmt(m.serverIdleRssMb, 1)],
      ['worker idle RSS, 3 s after start (target <= 120)', fmt(m.workerIdleRssMb, 1)],
      [`server idle RSS, ${(3000 + S.settleMs) / 1000} s after start`, fmt(m.serverSettledRssMb, 1)],
      [`worker idle RSS, ${(3000 + S.settleMs) / 1000} s after start`, fmt(m.workerSettledRssMb, 1)],
      [`worker RSS after ${S.memoryN.toLocaleString('en-US')} tasks`, fmt(m.workerRssAfterMb, 1)],
      // After a drain, RSS is wherever V8's heap stands in its collection cycle: a raw Worker's tells what is BullMQ's.
      ...(workerRssAfter ? [[`section 3, c=10, after ${S.workerN.toLocaleString('en-US')} tasks: klue · raw BullMQ Worker (median)`, `${fmt(workerRssAfter.klue, 1)} · ${fmt(workerRssAfter.raw, 1)}`]] : []),
      ['Redis used_memory before', fmt(m.redisUsedMbBefore, 1)],
      ['Redis used_memory after they completed', fmt(m.redisUsedMbAfter, 1)],
    ]);
    results.memory = { tasks: S.memoryN, ...m };
  } finally {
    await queue.close();
    await server.stop();
    await worker.stop();
    // `klue start` writes the fixture's API types outside production; the bench does not need them.
    rmSync(join(fixtureDir, 'types'), { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- 6. Start-up
async function startupSection(): Promise<void> {
  const s = await measureStartup({ rounds: quick ? 5 : 7 });
  table('Start-up (this machine)', ['what', 'klue', 'bare', 'ratio', 'target'], startupRows(s));
  console.log(`  medians of ${s.rounds} rounds after a warm-up, the pairs interleaved; ratios: median of per-round ratios (middle half), or of the medians; RSS once it stopped growing for 2 s (at most 5 s)`);
  results.startup = s;
}

// ---------------------------------------------------------------- 7. Client
async function clientSection(): Promise<void> {
  const rows = [];
  for (const concurrency of [1, 10]) {
    const c = await measureClient({ rounds: quick ? 4 : 8, seconds: quick ? 1 : 2, concurrency });
    rows.push(c);
  }
  table('7. Client: ApiPool.<api>.client call against a bare undici Pool request, same server', ['concurrency', 'client calls/s', 'undici calls/s', 'client/undici (middle half)', 'µs/call client · undici'], rows.map((c) => [
    c.concurrency, fmt(c.clientRps), fmt(c.bareRps), `${c.ratio} (${c.middle.join('–')})`, `${c.clientUsPerCall} · ${c.bareUsPerCall}`,
  ]));
  results.client = rows;
}

try {
  console.log(`klue bench${quick ? ' (--quick)' : ''}: redis ${redis.url}, appendonly off`);
  results.machine = machine();
  if (runs('http')) await httpSection();
  if (runs('enqueue')) await enqueueSection();
  if (runs('worker')) await workerSection();
  if (runs('e2e')) await e2eSection();
  if (runs('memory')) await memorySection();
  if (runs('startup')) await startupSection();
  if (runs('client')) await clientSection();
} finally {
  admin.disconnect();
  await stopAndClean(redis);
}
const out = { startedAt: startedAt.toISOString(), loadavgAtEnd: loadavg().map((x) => Math.round(x * 100) / 100), seconds: Math.round((Date.now() - startedAt.getTime()) / 1000), quick, sections: only ? [...only] : 'all', ...results };
mkdirSync(join(benchDir, 'results'), { recursive: true });
writeFileSync(join(benchDir, 'results', 'latest.json'), `${JSON.stringify(out, null, 2)}\n`);
console.log(`\nwrote bench/results/latest.json (${out.seconds} s)`);
