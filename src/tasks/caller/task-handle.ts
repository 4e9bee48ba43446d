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

/** Handle of a call queued on Redis; result() needs QueueEvents, created on first use only. */
export function queuedHandle<R>(producer: Producer, task: string, queue: string, id: string, duplicate: boolean): TaskHandle<R> {
  return {
    id,
    task,
    queue,
    duplicate,
    async result<T = R>(opts: { timeoutMs?: number } = {}): Promise<T> {
      try {
        return decodeResult(await producer.waitForResult(queue, task, id, opts.timeoutMs)) as T;
      } catch (err) {
        throw failed(task, id, err);
      }
    },
  };
}

/** Handle of a call run in this process (inline mode, or no async runtime at all). */
export function localHandle<R>(task: string, queue: string, id: string, duplicate: boolean, done: Promise<TaskResult>): TaskHandle<R> {
  return {
    id,
    task,
    queue,
    duplicate,
    async result<T = R>(opts: { timeoutMs?: number } = {}): Promise<T> {
      let timer: NodeJS.Timeout | undefined;
      const waits: Promise<TaskResult>[] = [done];
      if (opts.timeoutMs !== undefined) {
        const ms = opts.timeoutMs;
        waits.push(
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new KlueError('TASK_TIMEOUT', `${task} (job ${id}) did not finish within ${ms} ms`)), ms);
          }),
        );
      }
      try {
        return decodeResult(await Promise.race(waits)) as T;
      } catch (err) {
        throw failed(task, id, err);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
