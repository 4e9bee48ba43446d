import { buildModel, hasModel, modelNameOf } from '../../spec/models.js';
import { KlueError, KlueTypeError } from '../../core/errors/klue-error.js';

/**
 * Tag key of the encoded form. Encoded values are JSON; an object holding this key is a tag
 * (`u` undefined, `d` Date, `m` model, `o` a user object that itself had this key).
 */
const TAG = '$klue';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The encoded `undefined`: one shared, frozen value (most task results are undefined). */
const UNDEFINED: Json = Object.freeze({ [TAG]: 'u' });

const IDENT = /^[A-Za-z_$][\w$]*$/;

/**
 * Deepest nesting of arrays and objects in task arguments and results. Encoding and decoding
 * recurse; a value nested thousands of levels deep (a few KB of request body) would otherwise
 * overflow the stack. Real data is far shallower.
 */
export const MAX_DEPTH = 100;

function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return IDENT.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function kindOf(value: unknown): string {
  switch (typeof value) {
    case 'function':
      return 'a function';
    case 'bigint':
      return 'a BigInt';
    case 'symbol':
      return 'a Symbol';
    case 'number':
      return Number.isNaN(value) ? 'NaN' : String(value);
    default: {
      const ctor = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name;
      return ctor ? `a ${ctor}` : 'an object with a custom prototype';
    }
  }
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

class Encoder {
  private readonly ancestors = new Set<object>();
  /** Keys from the root to the value being encoded: the path is spelled out only for an error. */
  private readonly keys: (string | number)[] = [];

  constructor(
    private readonly task: string,
    private readonly what: string,
    private readonly root: string,
  ) {}

  private fail(problem: string): never {
    const path = this.keys.reduce<string>(childPath, this.root);
    throw new KlueTypeError('TASK_VALUE_INVALID', `${this.task}: ${path} is ${problem}; ${this.what} must be JSON values, Date or klue models`, { details: { task: this.task, path } });
  }

  private child(item: unknown, key: string | number): Json {
    this.keys.push(key);
    if (this.keys.length > MAX_DEPTH && typeof item === 'object' && item !== null) this.fail(`nested more than ${MAX_DEPTH} levels deep`);
    const encoded = this.encode(item);
    this.keys.pop();
    return encoded;
  }

  /** Returns `value` itself when nothing in it needs a tag, so plain JSON costs no copies. */
  encode(value: unknown): Json {
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return value;
      case 'number':
        if (!Number.isFinite(value)) this.fail(kindOf(value));
        return value;
      case 'undefined':
        return UNDEFINED;
      case 'object':
        break;
      default:
        this.fail(kindOf(value));
    }
    if (value === null) return null;
    if (this.ancestors.has(value)) this.fail('a circular reference');
    this.ancestors.add(value);
    try {
      if (Array.isArray(value)) return this.encodeArray(value);
      if (value instanceof Date) {
        const time = value.getTime();
        return { [TAG]: 'd', v: Number.isNaN(time) ? null : time };
      }
      const model = modelNameOf(value);
      if (model !== undefined) return { [TAG]: 'm', n: model, v: this.encodeFields(value, true) };
      if (!isPlainObject(value)) this.fail(kindOf(value));
      const fields = this.encodeFields(value, false);
      return Object.prototype.hasOwnProperty.call(value, TAG) ? { [TAG]: 'o', v: fields } : fields;
    } finally {
      this.ancestors.delete(value);
    }
  }

  private encodeArray(value: unknown[]): Json[] {
    let out: Json[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const encoded = this.child(item, i);
      if (out === undefined && encoded !== item) out = value.slice(0, i) as Json[];
      out?.push(encoded);
    }
    return out ?? (value as Json[]);
  }

  private encodeFields(value: object, copy: boolean): { [key: string]: Json } {
    const source = value as Record<string, unknown>;
    let out: Record<string, Json> | undefined = copy ? {} : undefined;
    const keys = Object.keys(source);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      const item = source[key];
      const encoded = this.child(item, key);
      if (out === undefined && encoded !== item) {
        out = {};
        for (let j = 0; j < i; j++) out[keys[j] as string] = source[keys[j] as string] as Json;
      }
      if (out !== undefined) out[key] = encoded;
    }
    return out ?? (source as Record<string, Json>);
  }
}

/**
 * Encodes task arguments or a task result into JSON-safe data that keeps `undefined`, `Date`
 * and klue models (also nested). Throws a TypeError naming the task and the path of anything
 * else (functions, Map, Set, class instances, BigInt, NaN, cycles...).
 */
export function encodeValue(value: unknown, task: string, path: string, what = 'task arguments'): unknown {
  // The common results (nothing, a string, a flag) need no walk.
  if (value === undefined) return UNDEFINED;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  return new Encoder(task, what, path).encode(value);
}

function decodeTag(tagged: Record<string, unknown>): unknown {
  switch (tagged[TAG]) {
    case 'u':
      return undefined;
    case 'd':
      return new Date(typeof tagged.v === 'number' ? tagged.v : NaN);
    case 'o':
      return decodeFields(tagged.v as Record<string, unknown>);
    case 'm': {
      const name = String(tagged.n);
      // Unknown here but known to whoever queued it: a worker running older specs. Retrying
      // lets an up-to-date worker take the job.
      if (!hasModel(name)) throw new KlueError('MODEL_INVALID', `Unknown model ${name} in task data`);
      return buildModel(name, decodeFields(tagged.v as Record<string, unknown>));
    }
    default:
      throw new KlueError('BAD_ENVELOPE', `unknown ${TAG} tag ${JSON.stringify(tagged[TAG])}`);
  }
}

function decodeFields(source: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  const keys = Object.keys(source);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const item = source[key];
    const decoded = decodeValue(item);
    if (out === undefined && decoded !== item) {
      out = {};
      for (let j = 0; j < i; j++) out[keys[j] as string] = source[keys[j] as string];
    }
    if (out !== undefined) out[key] = decoded;
  }
  return out ?? source;
}

/** Reverses `encodeValue`. */
export function decodeValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const decoded = decodeValue(item);
      if (out === undefined && decoded !== item) out = value.slice(0, i);
      out?.push(decoded);
    }
    return out ?? value;
  }
  const obj = value as Record<string, unknown>;
  return Object.prototype.hasOwnProperty.call(obj, TAG) ? decodeTag(obj) : decodeFields(obj);
}

/** What a job returns: the encoded task result, wrapped so a string result is never mistaken for JSON text. */
export interface TaskResult {
  r: unknown;
}

/** Turns a job's stored return value back into the task's result. */
export function decodeResult(returnValue: unknown): unknown {
  const wrapped = typeof returnValue === 'string' ? (JSON.parse(returnValue) as unknown) : returnValue;
  return decodeValue((wrapped as Partial<TaskResult> | null)?.r);
}
