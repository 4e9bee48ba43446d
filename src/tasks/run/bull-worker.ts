import { Worker, type Job, type JobJsonRaw, type RedisClient, type Span, type SpanKind } from 'bullmq';
import { settled } from '../../util/settled.js';
import { CLAIM_FIELD } from '../transport/ledger-scripts.js';

// Kept on the job object itself: a WeakMap entry per job cost about 1 µs (with its collection).
const DATA_JSON = Symbol('klue.dataJson');
const UNREADABLE = Symbol('klue.unreadable');
const CLAIM = Symbol('klue.claim');
type KlueJob = Job & { [DATA_JSON]?: string; [UNREADABLE]?: string; [CLAIM]?: string };

/**
 * BullMQ's Worker, except for a job whose stored record does not parse (data, opts, progress or
 * parent that is not JSON, written to Redis by something other than BullMQ). BullMQ throws while
 * building such a job after it has moved it to active, so the job stalls, goes back to wait,
 * is taken and throws again, for ever, with a warning each time. Here it becomes a job with no
 * data and no options, marked unreadable, which the processor fails for good with the reason.
 * It also keeps each job's data as stored, the text its envelope's signature is checked on, and
 * spares BullMQ's per-job bookkeeping some promises (see trace and waitUntilReady): with
 * AsyncLocalStorage on (Node 20), every promise runs async_hooks callbacks.
 */
export class KlueBullWorker extends Worker {
  private ready: Promise<RedisClient> | undefined;

  /**
   * BullMQ's trace, which klue never gives a telemetry option (it makes its own spans), only
   * calls `callback`, but from an async function: two promises more per call, two calls per job.
   */
  override trace<T>(
    spanKind: SpanKind,
    operation: string,
    destination: string,
    callback: (span?: Span, dstPropagationMetadata?: string) => Promise<T> | T,
    srcPropagationMetadata?: string,
  ): Promise<T | Promise<T>> {
    if (this.opts.telemetry) return super.trace(spanKind, operation, destination, callback, srcPropagationMetadata);
    return settled(callback);
  }

  /**
   * Asked each time a job completes or fails; BullMQ's async form makes three promises for an
   * answer that never changes: its connections are made once, with the worker.
   */
  override waitUntilReady(): Promise<RedisClient> {
    return (this.ready ??= super.waitUntilReady());
  }

  protected override createJob(raw: JobJsonRaw, jobId: string): Job {
    try {
      const job: KlueJob = super.createJob(raw, jobId);
      job[DATA_JSON] = raw.data;
      job[CLAIM] = (raw as JobJsonRaw & { [CLAIM_FIELD]?: string })[CLAIM_FIELD];
      return job;
    } catch (err) {
      // Only what BullMQ reads without parsing JSON: ids, counters, timestamps and a deferred failure.
      const bare: JobJsonRaw = {
        id: raw.id,
        name: raw.name,
        data: 'null',
        opts: '{}',
        progress: '0',
        delay: raw.delay,
        priority: raw.priority,
        timestamp: raw.timestamp,
        failedReason: raw.failedReason,
        returnvalue: '',
        processedOn: raw.processedOn,
        atm: raw.atm,
        ats: raw.ats,
        stc: raw.stc,
        defa: raw.defa,
      };
      const job: KlueJob = super.createJob(bare, jobId);
      job[UNREADABLE] = `the job's record in Redis is unreadable (${(err as Error).message})`;
      return job;
    }
  }
}

/** The run count klue's script gave the job as BullMQ handed it out (ledger-scripts.ts), if it did. */
export function scriptClaimOf(job: Job): string | undefined {
  return (job as KlueJob)[CLAIM];
}

/** Why a job's stored record could not be read, for a job KlueBullWorker had to build without it. */
export function unreadableReason(job: Job): string | undefined {
  return (job as KlueJob)[UNREADABLE];
}

/** The JSON text `job.data` was parsed from, for a job this worker fetched from Redis. */
export function jobDataJson(job: Job): string | undefined {
  return (job as KlueJob)[DATA_JSON];
}
