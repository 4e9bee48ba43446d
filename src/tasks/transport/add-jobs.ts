import { readFileSync } from 'node:fs';
import { Job, type JobsOptions, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/**
 * Adds a batch of standard jobs (no delay, no priority, no parent, no deduplication) in ONE
 * Redis command, leaving Redis exactly as BullMQ's `addStandardJob-9.lua` leaves it after
 * adding them one by one: the same job hash fields, the same `added` / `waiting` /
 * `duplicated` events in the same order, the same id counter, the same wait (or paused)
 * list and marker. What it saves over `queue.addBulk` is per-job work that does not depend
 * on the job: BullMQ runs the whole script (msgpack decode, meta reads, the marker) once per
 * job and builds a `Job` object and a Redis command for each on the client.
 *
 * A job with a chosen id that already exists is left alone (a `duplicated` event, as BullMQ
 * does); the reply says whether the stored job holds this very call (same data) or another.
 *
 * test/async/add-jobs.test.ts checks it against BullMQ's own add, so a BullMQ upgrade that
 * changes the job layout fails there rather than in production.
 *
 * KEYS: wait, paused, meta, id, active, events, marker
 * ARGV: key prefix, timestamp, number of distinct opts K, the K opts JSON, then per job:
 *       custom id ('' for none), name, data JSON, index (1..K) of its opts
 * Reply: per job, its id and 0 (added, or already there with this data) or 1 (another job had the id)
 *
 * The script is add-jobs.lua beside this module (the build copies it into dist/); its header
 * names the BullMQ script it mirrors and that script's hash, which the test checks.
 */
export const ADD_JOBS_LUA = readFileSync(new URL('./add-jobs.lua', import.meta.url), 'utf8');

const COMMAND = 'klueAddJobs';
type AddJobsRedis = Redis & { [COMMAND](...args: (string | number)[]): Promise<(string | number)[]> };

/** Options this command can add a job with; the others go through `queue.addBulk`. */
export function isStandardJob(opts: JobsOptions): boolean {
  return !(opts.delay && opts.delay > 0) && !opts.priority && !opts.parent && !opts.repeat && !opts.deduplication && !opts.debounce && !opts.lifo;
}

const optsJson = new WeakMap<JobsOptions, string>();

/** The `opts` field BullMQ stores for a job added with `opts` (computed once per options object). */
export function storedOpts(opts: JobsOptions): string {
  let json = optsJson.get(opts);
  if (json === undefined) {
    // What `new Job(...).asJSON().opts` holds: attempts defaults to 0, undefined fields dropped.
    json = JSON.stringify(Job.optsAsJSON({ attempts: 0, ...opts }));
    optsJson.set(opts, json);
  }
  return json;
}

export interface AddJob {
  name: string;
  /** The job's id ('' for BullMQ's counter). */
  jobId?: string;
  /** The job data, JSON. */
  data: string;
  opts: JobsOptions;
}

/** One round trip, one command: adds `jobs` to `queue` and gives each job's id and whether another job had its id. */
export async function addStandardJobs(queue: Queue, jobs: AddJob[]): Promise<{ id: string; duplicate: boolean }[]> {
  // BullMQ's client: it waits, as queue.add() does, until the connection is ready.
  const redis = (await queue.client) as unknown as AddJobsRedis;
  if (typeof redis[COMMAND] !== 'function') redis.defineCommand(COMMAND, { numberOfKeys: 7, lua: ADD_JOBS_LUA });
  const k = queue.keys;
  // Calls of one task share their options object: each distinct one is sent once.
  const optsIndex = new Map<string, number>();
  const perJob: (string | number)[] = [];
  for (const job of jobs) {
    const opts = storedOpts(job.opts);
    let index = optsIndex.get(opts);
    if (index === undefined) optsIndex.set(opts, (index = optsIndex.size + 1));
    perJob.push(job.jobId ?? job.opts.jobId ?? '', job.name, job.data, index);
  }
  const keys = [k.wait ?? '', k.paused ?? '', k.meta ?? '', k.id ?? '', k.active ?? '', k.events ?? '', k.marker ?? ''];
  const reply = await redis[COMMAND](...keys, k[''] ?? '', Date.now(), optsIndex.size, ...optsIndex.keys(), ...perJob);
  const out: { id: string; duplicate: boolean }[] = [];
  for (let i = 0; i < jobs.length; i++) out.push({ id: String(reply[2 * i]), duplicate: reply[2 * i + 1] === 1 });
  return out;
}
