import { randomUUID } from 'node:crypto';
import { ERROR_CATALOG, type ErrorCode } from './catalog.js';

/** The JSON body of every klue error response (the spec's `Error` definition). */
export interface ErrorBody {
  status: number;
  error: string;
  error_description: string;
  error_id: string;
  user_message: string;
}

export interface KlueErrorOptions {
  /** Overrides the catalog's status (rarely needed). */
  status?: number;
  /** Shown to end users; defaults to a generic sentence for 5xx and the description otherwise. */
  userMessage?: string;
  cause?: unknown;
  /** Structured detail for logs (file, JSON path, task name...). Never sent to clients. */
  details?: Record<string, unknown>;
}

/** An error with a catalog code. Throw it from handlers and tasks to answer with that code. */
export class KlueError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly userMessage: string;
  readonly details: Record<string, unknown>;
  /** Unique per occurrence; logged with the stack and returned to the client. */
  readonly errorId: string = randomUUID();

  constructor(code: ErrorCode, description?: string, options: KlueErrorOptions = {}) {
    const entry = ERROR_CATALOG[code];
    super(description ?? entry.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KlueError';
    this.code = code;
    this.status = options.status ?? entry.status;
    this.userMessage =
      options.userMessage ?? (this.status >= 500 ? 'Something went wrong. Please try again later.' : this.message);
    this.details = options.details ?? {};
  }

  /**
   * The body sent to clients. A 4xx keeps its description (it names what is wrong in the
   * request); a 5xx gets the catalog's message for its code, in every env: its own message may
   * hold internals (a task's exception, a response's JSON path, config keys), which go to the log
   * and the reporters under the same `error_id`.
   */
  toBody(): ErrorBody {
    return {
      status: this.status,
      error: this.code,
      error_description: this.status >= 500 ? ERROR_CATALOG[this.code].message : this.message,
      error_id: this.errorId,
      user_message: this.userMessage,
    };
  }
}

export function isKlueError(err: unknown): err is KlueError {
  return err instanceof KlueError;
}

/** Wraps anything thrown into a KlueError, keeping the original as `cause`. */
export function toKlueError(err: unknown, code: ErrorCode = 'UNHANDLED_SERVER_ERROR'): KlueError {
  if (err instanceof KlueError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new KlueError(code, code === 'UNHANDLED_SERVER_ERROR' ? ERROR_CATALOG[code].message : message, {
    cause: err,
  });
}
