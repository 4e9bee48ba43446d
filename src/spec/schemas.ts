import type { ValidateFunction } from 'ajv';
import type { Ajv2020 } from 'ajv/dist/2020.js';
import { createAjv, knownFormats } from './ajv.js';
import { definitionsId, type JsonSchema } from './json-schema.js';

/**
 * The validators of one service. Bodies and models are validated as sent (no coercion, no
 * defaults injected into models); path, query and header strings are coerced to the declared
 * types, as every HTTP framework does. Both know every API's definitions.
 */
export class SchemaSet {
  private exactAjv: Ajv2020 | undefined;
  private readonly docs: { $id: string; $defs: Record<string, JsonSchema> }[] = [];
  private requestAjv: Ajv2020 | undefined;
  private coercingAjv: Ajv2020 | undefined;
  private readonly unknownFormats = new Set<string>();

  /**
   * Models, responses and client calls: every error, not the first, so that a bad response or
   * model is logged with each field at fault. Made at the first compile, which on a server is
   * at start-up (every definition is checked against the meta-schema then); a worker or a CLI
   * command that builds no model never loads Ajv.
   */
  private exact(): Ajv2020 {
    return (this.exactAjv ??= this.withDefinitions(createAjv({ useDefaults: false, allErrors: true })));
  }

  /**
   * The validators of request bodies and of path, query and header strings: made when the HTTP
   * side first asks (a worker never does). `exact` checks every definition against the
   * meta-schema first; checking again costs a meta-schema compile per instance.
   */
  get request(): Ajv2020 {
    this.exact();
    return (this.requestAjv ??= this.withDefinitions(createAjv({ useDefaults: true, validateSchema: false })));
  }

  get coercing(): Ajv2020 {
    this.exact();
    return (this.coercingAjv ??= this.withDefinitions(createAjv({ coerceTypes: 'array', useDefaults: true, validateSchema: false })));
  }

  private withDefinitions(ajv: Ajv2020): Ajv2020 {
    for (const format of this.unknownFormats) ajv.addFormat(format, true);
    for (const doc of this.docs) ajv.addSchema(doc);
    return ajv;
  }

  /**
   * Makes the formats of `schemas` that Ajv does not know (`uint64`, vendor formats) accepted
   * unchecked, as OpenAPI allows, instead of Ajv warning at each schema that uses one. Returns
   * those not seen before, for one log line each.
   */
  acceptFormats(schemas: Iterable<unknown>): string[] {
    const found = new Set<string>();
    const stack = [...schemas];
    while (stack.length > 0) {
      const n = stack.pop();
      if (Array.isArray(n)) stack.push(...(n as unknown[]));
      else if (typeof n === 'object' && n !== null) {
        for (const [k, v] of Object.entries(n)) {
          if (k === 'format' && typeof v === 'string') found.add(v);
          else if (typeof v === 'object' && v !== null) stack.push(v);
        }
      }
    }
    const added = [...found].filter((f) => !knownFormats().has(f) && !this.unknownFormats.has(f));
    for (const format of added) {
      this.unknownFormats.add(format);
      for (const ajv of [this.exactAjv, this.requestAjv, this.coercingAjv]) ajv?.addFormat(format, true);
    }
    return added;
  }

  addDefinitions(api: string, defs: Record<string, JsonSchema>): void {
    const doc = { $id: definitionsId(api), $defs: defs };
    this.docs.push(doc);
    for (const ajv of [this.exactAjv, this.requestAjv, this.coercingAjv]) ajv?.addSchema(doc);
  }

  compileExact(schema: JsonSchema): ValidateFunction {
    return this.exact().compile(schema);
  }
}
