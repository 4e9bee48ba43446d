import { isObject } from '../util/is-object.js';

/** A JSON schema as klue handles it: a plain JSON object. */
export type JsonSchema = { [key: string]: unknown };

/** The `$id` of the schema document holding an API's definitions. */
export function definitionsId(api: string): string {
  return `klue:${api}`;
}

/** A `$ref` to one definition of an API, usable from any schema compiled by the same Ajv. */
export function definitionRef(api: string, name: string): string {
  return `${definitionsId(api)}#/$defs/${encodeURIComponent(name).replaceAll('~', '~0')}`;
}

const LOCAL_DEF = /^#\/(?:definitions|components\/schemas)\/([^/]+)$/;

/** The definition a local `$ref` names, or undefined when it names something else. */
export function refDefinitionName(ref: unknown): string | undefined {
  if (typeof ref !== 'string') return undefined;
  const m = LOCAL_DEF.exec(ref);
  return m?.[1] ? decodeURIComponent(m[1].replaceAll('~1', '/').replaceAll('~0', '~')) : undefined;
}

/**
 * Turns an OpenAPI (Swagger 2.0, 3.0 or 3.1) schema into JSON Schema that Ajv 2020 validates:
 * `nullable` / `x-nullable` become a `null` type, local definition refs point at the API's
 * definitions document, and `x-*`/doc-only keywords are kept (Ajv runs non-strict). `otherRef`
 * rewrites the other `$ref`s (a bundled multi-file spec points at schemas wherever it first met them).
 */
export function toJsonSchema(api: string, schema: unknown, otherRef?: (ref: string) => string | undefined): JsonSchema {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (!isObject(node)) return node;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref') {
        const def = refDefinitionName(v);
        out.$ref = def !== undefined ? definitionRef(api, def) : ((typeof v === 'string' ? otherRef?.(v) : undefined) ?? v);
      } else if (k === 'properties' || k === 'patternProperties' || k === '$defs' || k === 'definitions') {
        out[k] = isObject(v) ? Object.fromEntries(Object.entries(v).map(([p, s]) => [p, walk(s)])) : v;
      } else if (k === 'example' || k === 'examples' || k === 'xml' || k === 'externalDocs') {
        // documentation only: kept out of the validator so Ajv never walks into them
      } else {
        out[k] = walk(v);
      }
    }
    // Swagger 2 and OpenAPI 3.0 make the bound exclusive with a boolean; JSON Schema 2020 names the bound.
    for (const [flag, bound] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']] as const) {
      if (typeof out[flag] !== 'boolean') continue;
      if (out[flag] === true && typeof out[bound] === 'number') {
        out[flag] = out[bound];
        delete out[bound];
      } else delete out[flag];
    }
    if (node.nullable === true || node['x-nullable'] === true) {
      delete out.nullable;
      delete out['x-nullable'];
      if (typeof out.type === 'string') out.type = [out.type, 'null'];
      else if (Array.isArray(out.type) && !out.type.includes('null')) out.type = [...(out.type as unknown[]), 'null'];
      if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...(out.enum as unknown[]), null];
      if (out.$ref !== undefined) return { anyOf: [{ $ref: out.$ref }, { type: 'null' }] };
    }
    return out;
  };
  return walk(schema) as JsonSchema;
}
