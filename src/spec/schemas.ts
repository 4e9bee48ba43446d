import type { ValidateFunction } from 'ajv';
import type { Ajv2020 } from 'ajv/dist/2020.js';
import { createAjv } from './ajv.js';
import { definitionsId, type JsonSchema } from './json-schema.js';

/**
 * The validators of one service. Bodies and models are validated as sent (no coercion, no
 * defaults injected into models); path, query and header strings are coerced to the declared
 * types, as every HTTP framework does. Both know every API's definitions.
 */
export class SchemaSet {
  readonly exact: Ajv2020 = createAjv({ useDefaults: false });
  readonly request: Ajv2020 = createAjv({ useDefaults: true });
  readonly coercing: Ajv2020 = createAjv({ coerceTypes: 'array', useDefaults: true });

  addDefinitions(api: string, defs: Record<string, JsonSchema>): void {
    const doc = { $id: definitionsId(api), $defs: defs };
    for (const ajv of [this.exact, this.request, this.coercing]) ajv.addSchema(doc);
  }

  compileExact(schema: JsonSchema): ValidateFunction {
    return this.exact.compile(schema);
  }
}
