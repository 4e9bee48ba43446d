import type { KlueConfig } from '../../core/config/config-types.js';
import type { TaskResult } from '../envelope/codec.js';
import type { EnqueueItem } from '../transport/producer.js';
import type { InlineJob, InlineRuns } from '../transport/runtime.js';
import { MemoryRunLedger } from '../transport/run-ledger.js';
import { finishRun, isPermanent, processJob, type JobRun } from './task-runner.js';

export interface InlineRunnerOptions {
  /** Hold each run until `drain()` (klue/testing's `tasks: 'held'`), instead of starting it on the next turn. */
  hold?: boolean;
}

/**
 * `async.mode: inline`: runs each call in this process, through the same envelope and
 * codec round trip a worker would see, so tests catch what would break on a real queue.
 * Runs start on the next turn of the event loop (never inside the caller's await), or when
 * `drain()` is called with `hold`; they retry without waiting for backoff, and ignore delays.
 */
export class InlineRunner implements InlineRuns {
  private readonly byJobId = new Map<string, InlineJob>();
  private readonly running = new Set<Promise<unknown>>();
  private readonly ledger = new MemoryRunLedger();
  /** With `hold`: the starts of the runs submitted and not yet released by `drain()`. */
  private held: (() => void)[] = [];

  constructor(
    private readonly config: KlueConfig,
    private readonly secret: string,
    private readonly options: InlineRunnerOptions = {},
  ) {}

  /** Resolves when a submitted run may start. */
  private startSignal(): Promise<void> {
    return new Promise<void>((resolve) => (this.options.hold ? this.held.push(resolve) : setImmediate(resolve)));
  }

  submit(item: EnqueueItem): InlineJob {
    const given = item.opts.jobId;
    const existing = given === undefined ? undefined : this.byJobId.get(given);
    if (existing) return { ...existing, duplicate: true };
    const id = item.jobId;
    const attempts = item.opts.attempts ?? 1;
    const done = this.startSignal().then(() => this.run(item, id, attempts));
    // Failures are reported and logged by processJob; result() is how callers see them.
    done.catch(() => undefined);
    const tracked = done.finally(() => this.running.delete(tracked)).catch(() => undefined);
    this.running.add(tracked);
    const job: InlineJob = { id, duplicate: false, done };
    if (given !== undefined) this.byJobId.set(given, job);
    return job;
  }

  private async run(item: EnqueueItem, jobId: string, attempts: number): Promise<TaskResult> {
    const opts = item.opts;
    for (let attempt = 1; ; attempt++) {
      try {
        const run: JobRun = { data: JSON.parse(item.data) as unknown, dataJson: item.data, jobId, jobName: item.name, queue: item.queue, delay: opts.delay ?? 0, priority: opts.priority ?? 0, repeated: false, attempt, attempts };
        const result = await processJob(run, this.config, this.secret, this.ledger);
        finishRun(run, this.ledger);
        return result;
      } catch (err) {
        if (isPermanent(err) || attempt >= attempts) throw err;
      }
    }
  }

  /** Runs held by `hold` not yet released. */
  get heldCount(): number {
    return this.held.length;
  }

  /** Releases the held runs and waits for every run started so far (and those they start, released in turn). */
  async drain(): Promise<void> {
    for (;;) {
      const release = this.held;
      this.held = [];
      for (const start of release) start();
      if (!this.running.size) return;
      await Promise.allSettled([...this.running]);
    }
  }
}
