import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { KlueContext } from '../core/context/context.js';
import type { ErrorCode } from '../core/errors/catalog.js';
import { KlueError, toKlueError } from '../core/errors/klue-error.js';
import { reportError } from '../core/errors/reporter.js';

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_BAD_URL: 'BAD_REQUEST',
  FST_ERR_MAX_PARAM_LENGTH: 'INVALID_PARAMETER',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_PARAMETER',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_PARAMETER',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_PARAMETER',
};

/** Turns anything a request can throw into a KlueError with the right code. */
export function classify(err: unknown): KlueError {
  if (err instanceof KlueError) return err;
  const fe = err as Partial<FastifyError> & { validationContext?: string };
  if (Array.isArray(fe.validation)) {
    const where = fe.validationContext ?? 'request';
    const detail = fe.validation
      .map((v) => {
        const missing = (v.params as { missingProperty?: unknown }).missingProperty;
        const path = `${where}${v.instancePath.replaceAll('/', '.')}${typeof missing === 'string' ? `.${missing}` : ''}`;
        return `${path}: ${v.message ?? 'is invalid'}`;
      })
      .join('; ');
    return new KlueError('INVALID_PARAMETER', detail, { cause: err });
  }
  if (typeof fe.code === 'string' && fe.code in FASTIFY_CODES) {
    return new KlueError(FASTIFY_CODES[fe.code] ?? 'INVALID_PARAMETER', fe.message, { cause: err });
  }
  if (err instanceof SyntaxError && typeof fe.statusCode === 'number' && fe.statusCode === 400) {
    return new KlueError('INVALID_PARAMETER', `body: ${err.message}`, { cause: err });
  }
  return toKlueError(err);
}

/**
 * Sends the standard error body. 5xx are logged with their stack and `error_id` and handed to
 * the reporters; 4xx are logged in one line without a stack.
 */
export async function sendError(err: unknown, request: FastifyRequest, reply: FastifyReply, context?: KlueContext): Promise<void> {
  const error = classify(err);
  const log = request.log;
  // A 501 answers a method the server does not know or an operation it binds no handler to: a
  // state the start-up warning told of, not a fault to report at each request.
  if (error.status >= 500 && error.code !== 'METHOD_NOT_IMPLEMENTED' && error.code !== 'NOT_IMPLEMENTED') {
    const cause = error.cause ?? error;
    log.error({ err: cause, error_id: error.errorId, code: error.code, details: error.details }, error.message);
    await reportError(error, { source: 'http', context: context ?? { request: { id: request.id, method: request.method, url: request.url } } });
  } else {
    log.info({ code: error.code, error_id: error.errorId, status: error.status }, error.message);
  }
  await reply.code(error.status).header('content-type', 'application/json; charset=utf-8').send(error.toBody());
}

/** Node's parse errors (and its request timeout) that have a code of their own; any other is BAD_REQUEST. */
const CLIENT_ERROR_CODES: Record<string, ErrorCode> = {
  HPE_HEADER_OVERFLOW: 'HEADERS_TOO_LARGE',
  ERR_HTTP_REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
};

/** A request line of token method, target and version: Node knows no such method when it refuses it. */
const REQUEST_LINE = /^[\w!#$%&'*+.^`|~-]+ \S+ HTTP\/\d\.\d\r?\n/;

type ClientError = Error & { code?: string; rawPacket?: unknown };

function clientErrorCode(err: ClientError): ErrorCode {
  // HPE_INVALID_METHOD is also what a request line that is not HTTP gives: only a well-formed one is a 501.
  const head = Buffer.isBuffer(err.rawPacket) ? err.rawPacket.toString('latin1', 0, 8192) : '';
  if (err.code === 'HPE_INVALID_METHOD' && REQUEST_LINE.test(head)) return 'METHOD_NOT_IMPLEMENTED';
  return CLIENT_ERROR_CODES[err.code ?? ''] ?? 'BAD_REQUEST';
}

/**
 * Fastify's `clientErrorHandler`: what Node's HTTP parser refuses before there is a request
 * (malformed framing, headers too large, unknown methods, timeouts) is answered on the socket with
 * the standard error body, then the connection is closed.
 */
export function clientErrorHandler(log: FastifyBaseLogger): (err: ClientError, socket: Socket) => void {
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const error = new KlueError(clientErrorCode(err), undefined, { cause: err });
    log.info({ code: error.code, error_id: error.errorId, status: error.status, parse_error: err.code }, err.message);
    // As Node does: once a response has begun on this socket, more bytes would corrupt it.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
    if (!socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const body = JSON.stringify(error.toBody());
    const head = `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`;
    socket.end(head + body, () => socket.destroy());
  };
}
