import type { ValidateFunction } from 'ajv';
import type { ClientConfig } from '../core/config/config-types.js';
import { KlueError } from '../core/errors/klue-error.js';
import type { JsonSchema } from '../spec/json-schema.js';
import type { Operation } from '../spec/operations.js';
import type { SchemaSet } from '../spec/schemas.js';
import { isIdempotent } from './retry.js';

/** One operation of a called API, with what every call of it needs, worked out once. */
export interface ClientOperation {
  api: string;
  /** The client method's name: `x-bind-client`, else `operationId`, else method and path (`getHelloWithAuth`). */
  name: string;
  op: Operation;
  config: ClientConfig;
  method: string;
  /** The path prefix of the API's URL (`/v1`), '' for none. */
  prefix: string;
  /** The operation declares a body and no path, query or header parameter: its input is the body itself. */
  bodyOnly: boolean;
  idempotent: boolean;
  /** `api.operation`, for errors and logs. */
  where: string;
  labels: { api: string; operation: string };
  /** The span name of a call: `<METHOD> <api> <path>`. */
  spanName: string;
  /** The config's `headers`, names in lower case. */
  staticHeaders: Record<string, string>;
  /** The config's headers set `authorization` (an API key): the user's token is never sent. */
  hasOwnAuthorization: boolean;
  validator(part: 'params' | 'querystring' | 'headers' | 'body'): ValidateFunction | undefined;
  /** The validator of the answer with this status (or the spec's `default`), and its model names. */
  response(status: number): ResponseCheck | undefined;
}

export interface ResponseCheck {
  validate?: ValidateFunction;
  /** The model of the body (a definition `$ref`), or of each item (an array of one). */
  model?: string;
  itemModel?: string;
}

function pascal(s: string): string {
  return s.replace(/(^|[^A-Za-z0-9]+)([A-Za-z0-9])/g, (_m, _sep, c: string) => c.toUpperCase());
}

/** The client method name of an operation. */
export function clientMethodName(op: Operation): string {
  return op.clientName ?? op.operationId ?? `${op.method}${pascal(op.path)}`;
}

const DEF_REF = /^klue:([^#]+)#\/\$defs\/(.+)$/;

/** The qualified model name a `$ref` made by `definitionRef` names. */
function refModel(schema: unknown): string | undefined {
  const ref = (schema as { $ref?: unknown } | undefined)?.$ref;
  const m = typeof ref === 'string' ? DEF_REF.exec(ref) : null;
  return m?.[1] && m[2] ? `${m[1]}.${decodeURIComponent(m[2].replaceAll('~0', '~'))}` : undefined;
}

export function clientOperation(op: Operation, config: ClientConfig, schemas: SchemaSet): ClientOperation {
  const name = clientMethodName(op);
  const prefix = new URL(config.url).pathname.replace(/\/+$/, '');
  const compiled = new Map<string, ValidateFunction>();
  // Compiled on first use (a worker calls few operations); the server has compiled them at start-up, which Ajv caches.
  const compile = (key: string, schema: JsonSchema): ValidateFunction => {
    let v = compiled.get(key);
    if (!v) {
      try {
        v = schemas.compileExact(schema);
      } catch (err) {
        throw new KlueError('SPEC_INVALID', `${op.file}: ${op.where} (${key}): ${(err as Error).message}`, { cause: err });
      }
      compiled.set(key, v);
    }
    return v;
  };
  const responses = new Map<number, ResponseCheck | undefined>();
  const staticHeaders = Object.fromEntries(Object.entries(config.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    api: op.api,
    name,
    op,
    config,
    method: op.method.toUpperCase(),
    prefix,
    bodyOnly: op.body !== undefined && !op.params && !op.querystring && !op.headers,
    idempotent: isIdempotent(op.method),
    where: `${op.api}.${name}`,
    labels: { api: op.api, operation: name },
    spanName: `${op.method.toUpperCase()} ${op.api} ${op.path}`,
    staticHeaders,
    hasOwnAuthorization: 'authorization' in staticHeaders,
    validator(part) {
      const schema = part === 'body' ? op.body : op[part];
      return schema ? compile(part, schema) : undefined;
    },
    response(status) {
      if (responses.has(status)) return responses.get(status);
      const spec = op.responses.get(String(status)) ?? op.responses.get(`${String(status)[0]}XX`) ?? op.responses.get('default');
      const schema = spec?.schema;
      const check = spec && {
        validate: schema ? compile(`response ${status}`, schema) : undefined,
        model: refModel(schema),
        itemModel: schema?.type === 'array' ? refModel(schema.items) : undefined,
      };
      responses.set(status, check);
      return check;
    },
  };
}
