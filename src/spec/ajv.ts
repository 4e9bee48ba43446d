import type { Options } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/**
 * Ajv (JSON Schema 2020-12, a superset of what OpenAPI 3.0/Swagger schemas use) set up for OpenAPI schemas: unknown keywords (`example`, `x-*`, `discriminator`...) are
 * allowed, the OpenAPI formats (`int32`, `int64`, `float`, `double`, `byte`, `binary`,
 * `password`) are known, and every error is reported so messages name each bad field.
 *
 * A `$ref` compiles to a call of its definition's function rather than a copy of it, and the
 * generated code is not optimised: on a spec of a thousand definitions (GitHub's), inlining
 * and optimising made compiling them three times slower, which every start paid.
 */
export function createAjv(options: Options = {}): Ajv2020 {
  const ajv = new Ajv2020({ strict: false, allErrors: false, inlineRefs: false, code: { optimize: false }, ...options });
  addFormats.default(ajv);
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  for (const f of ['float', 'double']) ajv.addFormat(f, { type: 'number', validate: () => true });
  for (const f of ['byte', 'binary', 'password']) ajv.addFormat(f, () => true);
  ajv.addKeyword({ keyword: 'x-klue-model', schemaType: 'string' });
  return ajv;
}
