import { ERROR_CATALOG, type ErrorCode } from '../core/errors/catalog.js';
import { KlueError } from '../core/errors/klue-error.js';

const CODED = /^([A-Z][A-Z0-9_]*): ([\s\S]*)$/;

function isErrorCode(code: string): code is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ERROR_CATALOG, code);
}

/**
 * What a worker stores as a failed job's reason (BullMQ keeps only a message): a KlueError's
 * code goes in front of its message, so that `handle.result()` in another process can throw
 * the same code (TASK_TIMEOUT, BAD_ENVELOPE, a code the task threw) rather than TASK_FAILED.
 */
export function failureReason(err: unknown): string {
  if (err instanceof KlueError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** The error `result()` throws for a task whose job failed with `reason` (see failureReason). */
export function errorFromReason(task: string, jobId: string, reason: string, cause: unknown): KlueError {
  const coded = CODED.exec(reason);
  const code = coded?.[1];
  if (code !== undefined && isErrorCode(code)) {
    return new KlueError(code, `${task} (job ${jobId}) failed: ${coded?.[2] ?? ''}`, { cause });
  }
  return new KlueError('TASK_FAILED', `${task} (job ${jobId}) failed: ${reason}`, { cause });
}
