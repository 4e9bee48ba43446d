/**
 * `node --import tsx bench/process-job.ts [jobs] [rounds]`: what klue's own part of a task run
 * costs, without BullMQ or Redis. Calls `processJob` in a loop on stored envelopes (the fixture's
 * no-op task, a request context), with klue's context propagation on as in any worker, and subtracts the
 * same loop that only parses the job data, as BullMQ does before the processor runs. Add
 * `--cpu-prof` after `node` to see where the time goes.
 */
import { startRedis, stopAndClean } from '../test/helpers/redis.js';
import { fixtureDir, median, ORDER } from './lib/common.js';
import { createRootLogger, loadConfig, loadService, processJob, resolveSecret, rootLogger, runInContext, sealEnvelope, startAsync } from './lib/klue.js';

const [n = 100_000, rounds = 5] = process.argv.slice(2).map(Number);
// The worker's runtime connects to Redis at start (no job goes there): a private one, as the other benches use.
const redis = await startRedis();
process.env.REDIS_URL = redis.url;
const config = await loadConfig({ dir: fixtureDir });
createRootLogger({ service: config.name, role: 'worker' });
await loadService(config);
await startAsync(config, 'worker');
const secret = resolveSecret(config);
// Runs repeat the same envelopes: a ledger that forgets, so that what is measured is the run, not a refusal.
const ledger = { claim: async () => 1, finish: async () => undefined, release: async () => undefined, grant: async () => undefined };
// A worker's first task run turns klue's context propagation (promise hooks on Node 20) on for the whole process; so does this.
await runInContext({ ctx: {}, log: rootLogger() }, () => Promise.resolve());

const stored: string[] = [];
for (let i = 0; i < 1000; i++) {
  const ctx = { request: { id: `bench-${i}`, method: 'POST', url: '/orders' } };
  const id = crypto.randomUUID();
  const at = Date.now();
  stored.push(sealEnvelope({ id, svc: config.async.queue, q: 'default', task: 'benchNoop', args: [ORDER], ctx, at, exp: at + config.async.max_task_age, o: { a: 3 } }, secret, config.async.max_payload));
}

/** µs per job of parsing each job's data and, with `run`, processing it. */
async function loop(run: boolean): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const dataJson = stored[i % stored.length] as string;
    const data: unknown = JSON.parse(dataJson);
    const jobId = (data as { p: { id: string } }).p.id;
    if (run) await processJob({ data, dataJson, jobId, jobName: 'benchNoop', queue: 'default', delay: 0, priority: 0, repeated: false, attempt: 1, attempts: 3 }, config, secret, ledger);
    else await Promise.resolve(data);
  }
  return ((performance.now() - t0) * 1000) / n;
}

const own: number[] = [];
for (let r = 0; r < rounds; r++) {
  const parse = await loop(false);
  const processed = await loop(true);
  own.push(processed - parse);
  console.log(`  round ${r + 1}: parse ${parse.toFixed(2)} µs, parse + processJob ${processed.toFixed(2)} µs`);
}
console.log(`processJob: ${median(own).toFixed(2)} µs per job (median of ${rounds} rounds of ${n.toLocaleString('en-US')})`);
await stopAndClean(redis);
process.exit(0);
