/**
 * Throw it from a task to fail the job for good: the worker does not retry it, whatever
 * attempts are left (a bad input will not get better by waiting).
 */
export class PermanentError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentError';
  }
}
