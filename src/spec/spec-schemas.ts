import { KlueError } from '../core/errors/klue-error.js';
import { isObject } from '../util/is-object.js';
import { definitionRef, toJsonSchema, type JsonSchema } from './json-schema.js';
import type { SpecFile } from './spec-file.js';

/** Prefix of the names under which schemas outside the definitions are kept in the definitions document. */
const POINTED = '#/';

/**
 * Follows a local JSON pointer (`#/paths/~1pets/get/...`) in a document. A bundler's pointer may
 * run through a `$ref` (`.../details/oneOf/0` where `details` is itself a `$ref`): as the
 * bundler does, a step into an object that lacks the key but holds a local `$ref` follows it.
 */
export function resolvePointer(doc: unknown, ref: string, seen = new Set<string>()): unknown {
  if (seen.has(ref)) return undefined;
  seen.add(ref);
  let target: unknown = doc;
  for (const part of ref.slice(2).split('/')) {
    const key = decodeURIComponent(part).replaceAll('~1', '/').replaceAll('~0', '~');
    if (isObject(target) && !(key in target) && typeof target.$ref === 'string' && target.$ref.startsWith(POINTED)) {
      target = resolvePointer(doc, target.$ref, seen);
    }
    target = isObject(target) || Array.isArray(target) ? (target as Record<string, unknown>)[key] : undefined;
  }
  return target;
}

/**
 * The JSON schemas of one spec. A bundled spec whose files `$ref` each other holds each schema
 * of another file where the bundler first met it: under `paths`, a response, another schema. A
 * `$ref` to such a place is pointed at a copy kept in the API's definitions document, under
 * its pointer as name, so every validator and the type generator resolve it like a definition.
 */
export class SpecSchemas {
  private readonly pointed = new Map<string, JsonSchema>();
  private readonly pending: string[] = [];

  constructor(readonly spec: SpecFile) {}

  private readonly otherRef = (ref: string): string | undefined => {
    if (!ref.startsWith(POINTED)) return undefined;
    if (!this.pointed.has(ref) && !this.pending.includes(ref)) this.pending.push(ref);
    return definitionRef(this.spec.name, ref);
  };

  /** An OpenAPI schema of this spec as JSON Schema for klue's Ajv. */
  convert(schema: unknown): JsonSchema {
    return toJsonSchema(this.spec.name, schema, this.otherRef);
  }

  /**
   * The schemas that `$ref`s met so far point at outside the definitions, by pointer. Call it
   * after converting every schema: converting these may meet more, which are added too.
   */
  pointedSchemas(): Record<string, JsonSchema> {
    for (let ref = this.pending.shift(); ref !== undefined; ref = this.pending.shift()) {
      const target = resolvePointer(this.spec.doc, ref);
      if (!isObject(target)) throw new KlueError('SPEC_INVALID', `${this.spec.file}: $ref ${ref} points at nothing`);
      this.pointed.set(ref, this.convert(target));
    }
    return Object.fromEntries(this.pointed);
  }
}

const bySpec = new WeakMap<SpecFile, SpecSchemas>();

/** The one converter of a spec, so that every schema of it shares the pointed schemas. */
export function specSchemas(spec: SpecFile): SpecSchemas {
  let s = bySpec.get(spec);
  if (!s) {
    s = new SpecSchemas(spec);
    bySpec.set(spec, s);
  }
  return s;
}
