/**
 * `node --import tsx bench/worker-instructions.ts [tasks] [concurrency] [rounds] [variants...]`:
 * machine instructions a worker process executes per task once warm, counted by valgrind's callgrind,
 * for a raw BullMQ Worker and klue's worker (default; any variant of bench/children/worker.ts
 * may be named). On these VMs a process's CPU time for the same work moves by a third from
 * one second to the next, so CPU-per-task and tasks/s ratios need many rounds; an instruction
 * count does not move with the machine's speed.
 * It is not time: a cache miss counts as the instructions around it, and the kernel's side of a
 * syscall not at all. The total has noise of its own, from when V8 collects garbage and
 * compiles (raw 376-421 k per task over 2 rounds of 3,000 tasks); the rest, without those and
 * SHA-256, held within 2 % (raw 301-302 k, klue 353-358 k; 14 min for three variants).
 * Only the drains are counted (instrumentation is switched on at 'go'); the worker runs some
 * 50 times slower. Needs valgrind (`apt-get install -y valgrind`); `KEEP=1` keeps the files.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startRedis, stopAndClean } from '../test/helpers/redis.js';
import { median, spawnChild } from './lib/common.js';
import { fillQueue, type WorkerVariant } from './lib/worker-run.js';

const positional = process.argv.slice(2);
const [n = 3_000, concurrency = 10, rounds = 2] = positional.slice(0, 3).map(Number);
const variants = (positional.length > 3 ? positional.slice(3) : ['raw', 'klue']) as WorkerVariant[];

if (spawnSync('valgrind', ['--version']).status !== 0) {
  console.error('valgrind is not installed (apt-get install -y valgrind)');
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), 'klue-instr-'));
// fork() runs execPath with node's own arguments: this wrapper puts callgrind in front of node.
const wrapper = join(dir, 'node-under-callgrind');
writeFileSync(wrapper, `#!/bin/sh\nexec valgrind --tool=callgrind --instr-atstart=no --smc-check=all-non-file -q --callgrind-out-file="$CALLGRIND_OUT" ${process.execPath} "$@"\n`);
chmodSync(wrapper, 0o755);

const redis = await startRedis();
// Every child (producer, worker) uses this Redis.
process.env.REDIS_URL = redis.url;
const admin = new Redis(redis.url);

/**
 * Where the instructions go, by the native function they ran in (JIT-compiled JavaScript has no
 * symbol, and counts as `rest`). Collection and compilation happen when V8 decides: a drain's
 * margin holds a major collection or not, and V8 still optimises klue's paths after thousands
 * of tasks, so `rest` is the steady part. Under valgrind OpenSSL cannot see the CPU's SHA
 * instructions and hashes in AVX2, several times the instructions the HMAC costs natively.
 */
const KINDS = {
  gc: /Scaveng|Sweep|Mark|Evacuat|v8::internal::Heap::|heap::base|GCTracer|RememberedSet|SlotSet|MemoryChunk|Compactor|MemoryAllocator|cppgc|PagedSpace|NewSpace|SemiSpace|FreeList|LocalHeap|SizeFromMap|BodyDescriptor|ArrayBufferSweeper/,
  compiler: /v8::internal::(compiler|maglev|turboshaft|baseline)::|Turbofan|Sparkplug/,
  sha256: /sha256/i,
};
type Kind = keyof typeof KINDS | 'rest';
type Counts = Record<Kind, number>;

/** Instructions collected in one callgrind output file, by kind (callgrind_annotate's self cost per function). */
function collected(file: string): Counts {
  const annotated = spawnSync('callgrind_annotate', ['--threshold=100', file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (annotated.status !== 0) throw new Error(`callgrind_annotate ${file}: ${annotated.stderr}`);
  const counts: Counts = { gc: 0, compiler: 0, sha256: 0, rest: 0 };
  for (const line of annotated.stdout.split('\n')) {
    const m = /^\s*([\d,]+) \([^)]*\)\s+(.*)$/.exec(line);
    if (!m?.[1] || !m[2] || m[2].includes('PROGRAM TOTALS')) continue;
    const name = m[2];
    const kind = (Object.keys(KINDS) as (keyof typeof KINDS)[]).find((k) => KINDS[k].test(name)) ?? 'rest';
    counts[kind] += Number(m[1].replaceAll(',', ''));
  }
  return counts;
}

/** Instructions the worker executed from 'go' until `tasks` tasks ran. */
async function instructions(variant: WorkerVariant, tasks: number, tag: string): Promise<Counts> {
  await admin.flushall();
  await fillQueue(redis.url, variant, tasks);
  const out = join(dir, `${tag}.out`);
  const worker = spawnChild('worker.ts', { variant, redisUrl: redis.url, concurrency, n: tasks }, { CALLGRIND_OUT: out }, [], wrapper);
  try {
    await worker.next('loaded', 900_000);
    const on = spawnSync('callgrind_control', ['-i', 'on', String(worker.pid)], { encoding: 'utf8' });
    if (on.status !== 0) throw new Error(`callgrind_control: ${on.stderr}`);
    worker.send({ type: 'go' });
    await worker.next('done', 1_800_000);
    spawnSync('callgrind_control', ['-i', 'off', String(worker.pid)]);
  } finally {
    await worker.stop();
  }
  // callgrind writes it when the process ends.
  return collected(out);
}

/**
 * Per task, the difference between a drain of 3n tasks and one of n: what start-up and
 * warm-up cost (V8 compiles the hot paths as they run: some 600 M instructions for a raw
 * worker, as many as 1,500 warm tasks) is the same in both and cancels out.
 */
async function countOnce(variant: WorkerVariant, round: number): Promise<Counts & { total: number }> {
  const short = await instructions(variant, n, `${variant}-${round}-short`);
  const long = await instructions(variant, 3 * n, `${variant}-${round}-long`);
  const per = (k: Kind) => (long[k] - short[k]) / (2 * n);
  const counts: Counts = { gc: per('gc'), compiler: per('compiler'), sha256: per('sha256'), rest: per('rest') };
  return { ...counts, total: counts.gc + counts.compiler + counts.sha256 + counts.rest };
}

const k = (x: number) => `${Math.round(x / 1000).toLocaleString('en-US')} k`;
const seen: Record<string, (Counts & { total: number })[]> = {};
try {
  for (let r = 0; r < rounds; r++) {
    for (const variant of variants) {
      const c = await countOnce(variant, r);
      (seen[variant] ??= []).push(c);
      console.log(`  round ${r + 1} ${variant}: ${k(c.total)} instructions/task (rest ${k(c.rest)}, gc ${k(c.gc)}, compiler ${k(c.compiler)}, sha256 ${k(c.sha256)})`);
    }
  }
} finally {
  admin.disconnect();
  await stopAndClean(redis);
  if (process.env.KEEP) console.log(`callgrind files (callgrind_annotate reads them): ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
const med = (variant: WorkerVariant, kind: Kind | 'total') => median((seen[variant] ?? []).map((c) => c[kind]));
const first = variants[0] ?? 'raw';
console.log(`\n${n.toLocaleString('en-US')} no-op tasks, concurrency ${concurrency}, ${rounds} round(s): median instructions per task, and x ${first}`);
console.log(`  ${'variant'.padEnd(12)} ${'total'.padStart(16)} ${'rest'.padStart(16)} ${'gc'.padStart(8)} ${'compiler'.padStart(9)} ${'sha256'.padStart(8)}`);
for (const variant of variants) {
  const cell = (kind: Kind | 'total') => `${k(med(variant, kind))} x${(med(variant, kind) / med(first, kind)).toFixed(2)}`.padStart(16);
  console.log(`  ${variant.padEnd(12)} ${cell('total')} ${cell('rest')} ${k(med(variant, 'gc')).padStart(8)} ${k(med(variant, 'compiler')).padStart(9)} ${k(med(variant, 'sha256')).padStart(8)}`);
}
