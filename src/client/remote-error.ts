import { ERROR_CATALOG, type ErrorCode } from '../core/errors/catalog.js';
import { KlueError, type ErrorBody } from '../core/errors/klue-error.js';

/** What another API answered, as far as its error body says. */
export interface RemoteAnswer {
  /** The HTTP status it answered with. */
  status: number;
  /** The body's `error` when it speaks klue's (pymacaron's) error format. */
  code?: string;
  description?: string;
  /** The body's `error_id`: the id of the error in the other service's logs. */
  errorId?: string;
  userMessage?: string;
}

function isCatalogCode(code: string | undefined): code is ErrorCode {
  return code !== undefined && Object.prototype.hasOwnProperty.call(ERROR_CATALOG, code);
}

/**
 * An error another API answered a client call with. Its status is the remote status and its
 * answer's `error` the remote code, so a handler that lets it through answers as the other
 * service did: its own caller sees the same status and code. `code` is that code when this
 * service's catalog has it (`TOKEN_EXPIRED`, `FORBIDDEN`...), else `REMOTE_ERROR`. Its
 * `errorId` is its own, logged with the remote one (`remoteErrorId`).
 */
export class RemoteError extends KlueError {
  /** The remote `error` code, or undefined when the answer was not in klue's error format. */
  readonly remoteCode: string | undefined;
  readonly remoteStatus: number;
  readonly remoteErrorId: string | undefined;

  constructor(answer: RemoteAnswer, description: string, details: Record<string, unknown>) {
    const code = isCatalogCode(answer.code) ? answer.code : 'REMOTE_ERROR';
    // A remote 4xx says what was wrong in the request: its user message passes on; a 5xx's never does.
    const userMessage = answer.status < 500 ? (answer.userMessage ?? description) : undefined;
    super(code, description, { status: answer.status, userMessage, details: { ...details, remote_status: answer.status, remote_code: answer.code, remote_error_id: answer.errorId } });
    this.name = 'RemoteError';
    this.remoteCode = answer.code;
    this.remoteStatus = answer.status;
    this.remoteErrorId = answer.errorId;
  }

  override toBody(): ErrorBody {
    const body = super.toBody();
    return this.remoteCode === undefined ? body : { ...body, error: this.remoteCode };
  }
}
