import type { Dispatcher } from 'undici';
import { KlueError } from '../core/errors/klue-error.js';
import { describeAjvErrors } from '../spec/ajv-errors.js';
import { tagModel } from '../spec/models.js';
import { isObject } from '../util/is-object.js';
import type { ClientOperation } from './client-operation.js';
import { RemoteError } from './remote-error.js';

function invalid(plan: ClientOperation, status: number, what: string): KlueError {
  return new KlueError('UPSTREAM_RESPONSE_INVALID', `${plan.where}: response ${status}: ${what}`, { details: { ...plan.labels, remote_status: status } });
}

/**
 * Reads a response body, refusing one larger than `max_response_size`: by its Content-Length
 * when it has one (undici holds the body to it), else while it streams in.
 */
export async function readBody(plan: ClientOperation, res: Dispatcher.ResponseData): Promise<string> {
  const max = plan.config.max_response_size;
  const length = Number(res.headers['content-length']);
  if (Number.isFinite(length)) {
    if (length > max) {
      res.body.destroy();
      throw invalid(plan, res.statusCode, `body of ${length} bytes is larger than max_response_size (${max})`);
    }
    return res.body.text();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      res.body.destroy();
      throw invalid(plan, res.statusCode, `body is larger than max_response_size (${max})`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/** A 2xx answer's body, checked against the spec's response and made a model when it is a definition. */
export function successBody(plan: ClientOperation, status: number, text: string): unknown {
  const check = plan.response(status);
  if (text === '') {
    if (check?.validate) throw invalid(plan, status, 'empty, but the spec declares a body');
    return undefined;
  }
  const parsed = parseJson(text);
  if (!parsed.ok) throw invalid(plan, status, 'not JSON');
  const body = parsed.value;
  if (check?.validate && !check.validate(body)) throw invalid(plan, status, describeAjvErrors(check.validate.errors, 'response'));
  try {
    if (check?.model && isObject(body) && !Array.isArray(body)) return tagModel(check.model, body);
    const itemModel = check?.itemModel;
    if (itemModel && Array.isArray(body)) return (body as unknown[]).map((item) => (isObject(item) ? tagModel(itemModel, item) : item));
  } catch (err) {
    throw invalid(plan, status, (err as Error).message);
  }
  return body;
}

/** The error a non-2xx answer becomes: the remote status and, when it speaks klue's error format, its code and error id. */
export function answerError(plan: ClientOperation, status: number, text: string): RemoteError {
  const parsed = parseJson(text);
  const body = parsed.ok && isObject(parsed.value) ? parsed.value : undefined;
  const klueFormat = body !== undefined && typeof body.error === 'string' && /^[A-Z][A-Z0-9_]*$/.test(body.error);
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const answer = klueFormat
    ? { status, code: body.error as string, description: str(body.error_description), errorId: str(body.error_id), userMessage: str(body.user_message) }
    : { status };
  const description = answer.description ?? `${plan.where} answered ${status}${answer.code ? ` ${answer.code}` : ''}`;
  return new RemoteError(answer, description, { ...plan.labels });
}
