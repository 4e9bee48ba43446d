import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { KlueContext } from '../context/context.js';
import { KlueError, toKlueError } from '../errors/klue-error.js';
import { reportError } from '../errors/reporter.js';

const FASTIFY_CODES: Record<string, ConstructorParameters<typeof KlueError>[0]> = {
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
  if (error.status >= 500) {
    const cause = error.cause ?? error;
    log.error({ err: cause, error_id: error.errorId, code: error.code, details: error.details }, error.message);
    await reportError(error, { source: 'http', context: context ?? { request: { id: request.id, method: request.method, url: request.url } } });
  } else {
    log.info({ code: error.code, error_id: error.errorId, status: error.status }, error.message);
  }
  await reply.code(error.status).header('content-type', 'application/json; charset=utf-8').send(error.toBody());
}
