import { KlueError } from '../core/errors/klue-error.js';
import { describeAjvErrors } from '../spec/ajv-errors.js';
import { isModel } from '../spec/models.js';
import { isObject } from '../util/is-object.js';
import type { ClientOperation } from './client-operation.js';

/** The full form of a client call's input: each part as the spec declares it. */
export interface ClientInput {
  path?: Record<string, unknown>;
  query?: Record<string, unknown>;
  headers?: Record<string, unknown>;
  body?: unknown;
}

/** What goes on the wire: the path with its query string, the declared headers, the JSON body. */
export interface OutgoingRequest {
  path: string;
  headers: Record<string, string>;
  body?: string;
}

const PARTS = new Set(['path', 'query', 'headers', 'body']);

function badCall(plan: ClientOperation, what: string): KlueError {
  return new KlueError('BAD_CLIENT_CALL', `${plan.where}: ${what}`, { details: { ...plan.labels } });
}

/** The parts of `input`: the body itself for a body-only operation or a model, else `{ path, query, headers, body }`. */
function partsOf(plan: ClientOperation, input: unknown): ClientInput {
  if (plan.bodyOnly || isModel(input)) return { body: input };
  if (input === undefined) return {};
  if (!isObject(input) || Array.isArray(input)) throw badCall(plan, 'the input must be an object { path, query, headers, body }');
  const extra = Object.keys(input).find((k) => !PARTS.has(k));
  if (extra !== undefined) throw badCall(plan, `input.${extra}: not one of path, query, headers, body`);
  return input;
}

/** Checks one part (path, query) against its schema, refusing keys the spec does not declare. */
function checkPart(plan: ClientOperation, part: 'params' | 'querystring', name: string, value: unknown): Record<string, unknown> {
  if (value !== undefined && (!isObject(value) || Array.isArray(value))) throw badCall(plan, `${name}: must be an object`);
  const given = value ?? {};
  const schema = plan.op[part];
  const declared = (schema?.properties ?? {}) as Record<string, unknown>;
  const extra = Object.keys(given).find((k) => !(k in declared));
  if (extra !== undefined) throw badCall(plan, `${name}.${extra}: not a parameter of this operation`);
  const validate = plan.validator(part);
  if (validate && !validate(given)) throw badCall(plan, describeAjvErrors(validate.errors, name));
  return given;
}

function queryString(query: Record<string, unknown>): string {
  const out: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    // Arrays as repeated keys (OpenAPI 3's default form, explode), which klue's server reads too.
    for (const item of Array.isArray(v) ? (v as unknown[]) : [v]) out.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(item))}`);
  }
  return out.length === 0 ? '' : `?${out.join('&')}`;
}

/** Validates a call's input against the operation's spec and builds what is sent; throws BAD_CLIENT_CALL, sending nothing. */
export function outgoingRequest(plan: ClientOperation, input: unknown): OutgoingRequest {
  const parts = partsOf(plan, input);
  const op = plan.op;
  let path = plan.prefix + op.path;
  if (op.params || parts.path !== undefined) {
    const params = checkPart(plan, 'params', 'path', parts.path);
    path = path.replace(/\{([^}]+)\}/g, (_m, name: string) => encodeURIComponent(String(params[name])));
  }
  if (op.querystring || parts.query !== undefined) path += queryString(checkPart(plan, 'querystring', 'query', parts.query));
  // Headers the spec does not declare pass as given (an idempotency key, a tenant); declared ones are checked.
  const given: Record<string, unknown> = {};
  if (parts.headers !== undefined) {
    if (!isObject(parts.headers) || Array.isArray(parts.headers)) throw badCall(plan, 'headers: must be an object');
    for (const [k, v] of Object.entries(parts.headers)) if (v !== undefined) given[k.toLowerCase()] = v;
  }
  const validateHeaders = plan.validator('headers');
  if (validateHeaders && !validateHeaders(given)) throw badCall(plan, describeAjvErrors(validateHeaders.errors, 'headers'));
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(given)) headers[k] = String(v);
  if (parts.body === undefined) {
    if (op.body && op.bodyRequired) throw badCall(plan, 'body: is required');
    return { path, headers };
  }
  const validateBody = plan.validator('body');
  if (!validateBody) throw badCall(plan, 'body: this operation takes no body');
  if (!validateBody(parts.body)) throw badCall(plan, describeAjvErrors(validateBody.errors, 'body'));
  headers['content-type'] = 'application/json';
  return { path, headers, body: JSON.stringify(parts.body) };
}
