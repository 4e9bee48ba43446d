import { createRequire } from 'node:module';
import type { Format, Options } from 'ajv';
import type { Ajv2020 } from 'ajv/dist/2020.js';

const require = createRequire(import.meta.url);

const anyValue = () => true;

/** The formats klue adds to ajv-formats' for OpenAPI: the integer sizes are checked, the rest accepted. */
const OPENAPI_FORMATS: Record<string, Format> = {
  int32: { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 },
  int64: { type: 'number', validate: (n: number) => Number.isInteger(n) },
  float: { type: 'number', validate: anyValue },
  double: { type: 'number', validate: anyValue },
  byte: anyValue,
  binary: anyValue,
  password: anyValue,
};

let known: ReadonlySet<string> | undefined;

/**
 * The formats a validator made by `createAjv` checks, known without loading Ajv (ajv-formats'
 * list of names is a module of its own that requires nothing).
 */
export function knownFormats(): ReadonlySet<string> {
  known ??= new Set([...(require('ajv-formats/dist/formats.js') as { formatNames: string[] }).formatNames, ...Object.keys(OPENAPI_FORMATS)]);
  return known;
}

/**
 * Ajv (JSON Schema 2020-12, a superset of what OpenAPI 3.0/Swagger schemas use) set up for OpenAPI schemas: unknown keywords (`example`, `x-*`, `discriminator`...) are
 * allowed, the OpenAPI formats (`int32`, `int64`, `float`, `double`, `byte`, `binary`,
 * `password`) are known, and every error is reported so messages name each bad field.
 *
 * A `$ref` compiles to a call of its definition's function rather than a copy of it, and the
 * generated code is not optimised: on a spec of a thousand definitions (GitHub's), inlining
 * and optimising made compiling them three times slower, which every start paid.
 *
 * Ajv is required here, when the first validator is made, not imported with this module: a
 * worker or a CLI command that builds no model never loads it.
 */
export function createAjv(options: Options = {}): Ajv2020 {
  const { Ajv2020: Ajv } = require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
  const addFormats = require('ajv-formats') as typeof import('ajv-formats').default;
  const ajv = new Ajv({ strict: false, allErrors: false, inlineRefs: false, code: { optimize: false }, ...options });
  addFormats(ajv);
  for (const [name, format] of Object.entries(OPENAPI_FORMATS)) ajv.addFormat(name, format);
  ajv.addKeyword({ keyword: 'x-klue-model', schemaType: 'string' });
  return ajv;
}
