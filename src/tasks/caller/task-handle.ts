import { KlueError } from '../../core/errors/klue-error.js';
import { errorFromReason } from '../failure-reason.js';
import type { Producer } from '../transport/producer.js';
import { decodeResult, type TaskResult } from '../envelope/codec.js';
import type { TaskHandle } from '../types.js';

function failed(task: string, id: string, err: unknown): KlueError {
  if (err instanceof KlueError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (message.startsWith('Job wait ')) {
    return new KlueError('TASK_TIMEOUT', `${task} (job ${id}) did not finish within the wait's timeoutMs`, { cause: err });
  }
  // BullMQ hands back the failed job's reason as the message.
  return errorFromReason(task, id, message, err);
}

/** A handle whose result() decodes what `wait` gives, and turns a failure into its coded error. */
function handle<R>(task: string, queue: string, id: string, duplicate: boolean, wait: (timeoutMs: number | undefined) => Promise<unknown>): TaskHandle<R> {
  return {
    id,
    task,
    queue,
    duplicate,
    async result<T = R>(opts: { timeoutMs?: number } = {}): Promise<T> {
      try {
        return decodeResult(await wait(opts.timeoutMs)) as T;
      } catch (err) {
        throw failed(task, id, err);
      }
    },
  };
}

/** Handle of a call queued on Redis; result() needs QueueEvents, created on first use only. */
export function queuedHandle<R>(producer: Producer, task: string, queue: string, id: string, duplicate: boolean): TaskHandle<R> {
  return handle(task, queue, id, duplicate, (timeoutMs) => producer.waitForResult(queue, task, id, timeoutMs));
}

/** Handle of a call run in this process (inline mode, or no async runtime at all). */
export function localHandle<R>(task: string, queue: string, id: string, duplicate: boolean, done: Promise<TaskResult>): TaskHandle<R> {
  return handle(task, queue, id, duplicate, async (ms) => {
    if (ms === undefined) return done;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new KlueError('TASK_TIMEOUT', `${task} (job ${id}) did not finish within ${ms} ms`)), ms);
    });
    try {
      return await Promise.race([done, timeout]);
    } finally {
      clearTimeout(timer);
    }
  });
}
