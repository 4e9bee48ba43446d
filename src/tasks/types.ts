/** Options of a task, given as `asynctask({ ...options }, fn)`. Unset ones come from `async:` in the config. */
export interface TaskOptions {
  /** Stable name of the task in the queue. Default: the function's name (required for anonymous functions). */
  name?: string;
  /** Queue (within the service) the task goes to; workers can serve a subset of queues. Default `'default'`. */
  queue?: string;
  /** Runs, first one included, before the task fails for good. Default `async.attempts` (3). */
  attempts?: number;
  /** First retry delay in ms; doubles each retry, with ±50% jitter. Default `async.backoff` (1000). */
  backoff?: number;
  /** Delay before the task may run: ms, or a string like `'10s'`, `'5m'`. Default `async.delay` (none). */
  delay?: number | string;
  /** BullMQ priority, 1 (highest) to 2097151; 0 or unset means none. Default none. */
  priority?: number;
  /** Longest a run may take (ms or `'30s'`) before it fails with a retryable TASK_TIMEOUT. Default `async.timeout` (none). */
  timeout?: number | string;
}

/** Options of one call, given as `task.with(options)(...args)`. */
export interface CallOptions {
  /** Delay before this call may run (ms or `'10s'`). Default: the task's delay. */
  delay?: number | string;
  /**
   * Makes the call idempotent: while a job with this id exists (queued, running, or kept after
   * it finished), calling again queues nothing and the handle says `duplicate: true`. Must not
   * be an integer or contain ':'. Default: a generated id.
   */
  jobId?: string;
  /** Priority of this call (see TaskOptions.priority). Default: the task's priority. */
  priority?: number;
  /** Attempts of this call. Default: the task's attempts. */
  attempts?: number;
}

/** What a task call resolves to once the task is safely queued. */
export interface TaskHandle<R = unknown> {
  /** Job id (the `jobId` given, else generated). */
  readonly id: string;
  /** Task name. */
  readonly task: string;
  /** Queue name within the service. */
  readonly queue: string;
  /** True when a job with the given `jobId` already existed, so this call queued nothing. */
  readonly duplicate: boolean;
  /**
   * Waits for the task to finish and gives its return value; rejects with TASK_FAILED (its
   * failure reason in the message) when it failed for good. `timeoutMs`: give up waiting
   * after this long. Default: wait as long as it takes.
   */
  result<T = R>(opts?: { timeoutMs?: number }): Promise<T>;
}

/** A function wrapped by `asynctask`: calling it queues a call of the original. */
export interface AsyncTask<A extends unknown[] = unknown[], R = unknown> {
  (...args: A): Promise<TaskHandle<R>>;
  /** The task's stable name. */
  readonly taskName: string;
  /** The options given to `asynctask`. */
  readonly options: Readonly<TaskOptions>;
  /** Queues one call with per-call options. */
  with(options: CallOptions): (...args: A) => Promise<TaskHandle<R>>;
  /** Runs the original function here and now, in the current context, without any queue. */
  now(...args: A): Promise<R>;
}
