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

/** Marks klue's coded errors, KlueError and KlueTypeError alike (see `KlueError[Symbol.hasInstance]`). */
const CODED = Symbol.for('klue.coded-error');

/** The fields and body of a coded error, set on either class. */
function initCoded(err: KlueError | KlueTypeError, code: ErrorCode, options: KlueErrorOptions): void {
  const status = options.status ?? ERROR_CATALOG[code].status;
  Object.assign(err, {
    [CODED]: true,
    code,
    status,
    userMessage: options.userMessage ?? (status >= 500 ? 'Something went wrong. Please try again later.' : err.message),
    details: options.details ?? {},
  });
}

function bodyOf(err: KlueError | KlueTypeError): ErrorBody {
  return {
    status: err.status,
    error: err.code,
    error_description: err.status >= 500 ? ERROR_CATALOG[err.code].message : err.message,
    error_id: err.errorId,
    user_message: err.userMessage,
  };
}

/** An error with a catalog code. Throw it from handlers and tasks to answer with that code. */
export class KlueError extends Error {
  declare readonly code: ErrorCode;
  declare readonly status: number;
  declare readonly userMessage: string;
  declare readonly details: Record<string, unknown>;
  /** Unique per occurrence; logged with the stack and returned to the client. */
  readonly errorId: string = randomUUID();

  /**
   * `err instanceof KlueError` holds for every coded error, a KlueTypeError too (a bad task
   * argument stays a TypeError, as documented, and answers with its code all the same).
   * Subclasses keep the usual prototype check.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== KlueError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && CODED in value;
  }

  constructor(code: ErrorCode, description?: string, options: KlueErrorOptions = {}) {
    super(description ?? ERROR_CATALOG[code].message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KlueError';
    initCoded(this, code, options);
  }

  /**
   * The body sent to clients. A 4xx keeps its description (it names what is wrong in the
   * request); a 5xx gets the catalog's message for its code, in every env: its own message may
   * hold internals (a task's exception, a response's JSON path, config keys), which go to the log
   * and the reporters under the same `error_id`.
   */
  toBody(): ErrorBody {
    return bodyOf(this);
  }
}

/**
 * A coded error that is also a `TypeError`: what klue throws for a bad value given to its API
 * (a task argument the envelope cannot carry, bad task options), which the docs promise is a
 * TypeError. `instanceof KlueError` holds for it too.
 */
export class KlueTypeError extends TypeError {
  declare readonly code: ErrorCode;
  declare readonly status: number;
  declare readonly userMessage: string;
  declare readonly details: Record<string, unknown>;
  readonly errorId: string = randomUUID();

  constructor(code: ErrorCode, description: string, options: KlueErrorOptions = {}) {
    super(description, options.cause === undefined ? undefined : { cause: options.cause });
    initCoded(this, code, options);
  }

  toBody(): ErrorBody {
    return bodyOf(this);
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
