import type { KlueConfig } from '../core/config/config-types.js';
import { decodeResult } from '../tasks/envelope/codec.js';
import type { EnqueueItem } from '../tasks/transport/producer.js';
import { getRuntime, startAsync, stopAsync, type InlineJob } from '../tasks/transport/runtime.js';
import { InlineRunner } from '../tasks/run/inline-runner.js';

/** One task call seen by a test service. */
export interface TaskRun {
  /** The job id: the call's `jobId`, else its own id (the handle's `id`). */
  id: string;
  task: string;
  queue: string;
  /** `held` until drained (with `tasks: 'held'`), `running` once submitted to run, then how it ended. */
  state: 'held' | 'running' | 'completed' | 'failed';
  /** The task's return value, decoded as `handle.result()` gives it. */
  result?: unknown;
  /** What the last attempt threw. */
  error?: unknown;
}

/**
 * The in-process task runner of a test service: the inline runner of `async.mode: inline`
 * (which runs each call through the envelope round trip, in the call's context), with every
 * call recorded so a test can see what its requests queued and how each run ended.
 */
export class TaskRecorder {
  readonly runs: TaskRun[] = [];

  private constructor(private readonly runner: InlineRunner) {}

  /** Starts the task runtime of this process for a config in `inline` mode. */
  static async start(config: KlueConfig, hold: boolean): Promise<TaskRecorder> {
    await startAsync(config, 'server');
    const runtime = getRuntime();
    if (!runtime) throw new Error('klue/testing: the task runtime did not start');
    const recorder = new TaskRecorder(new InlineRunner(config, runtime.secret, { hold }));
    runtime.inline = { submit: (item) => recorder.submit(item, hold), drain: () => recorder.runner.drain() };
    return recorder;
  }

  private submit(item: EnqueueItem, hold: boolean): InlineJob {
    const job = this.runner.submit(item);
    if (job.duplicate) return job;
    const run: TaskRun = { id: job.id, task: item.name, queue: item.queue, state: hold ? 'held' : 'running' };
    this.runs.push(run);
    void job.done.then(
      (value) => Object.assign(run, { state: 'completed', result: decodeResult(value) }),
      (err: unknown) => Object.assign(run, { state: 'failed', error: err }),
    );
    return job;
  }

  async drain(): Promise<void> {
    for (const run of this.runs) if (run.state === 'held') run.state = 'running';
    await this.runner.drain();
  }

  clear(): void {
    this.runs.length = 0;
  }

  /** Runs what is held and stops the task runtime of this process. */
  async stop(): Promise<void> {
    await this.drain();
    await stopAsync();
  }
}
