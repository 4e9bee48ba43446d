import type { ValidateFunction } from 'ajv';
import { KlueError } from '../core/errors/klue-error.js';
import { describeAjvErrors } from './ajv-errors.js';
import { processSingleton } from '../util/process-singleton.js';

/** Non-enumerable marker carried by model objects: their qualified name `<api>.<Definition>`. */
export const MODEL_NAME: unique symbol = Symbol.for('klue.model.name') as never;

/** A model object: the plain data of a definition that remembers which definition it is. */
export type Model<T extends object = Record<string, unknown>> = T & { readonly [MODEL_NAME]: string };

/** Builds a validated model from data. */
export type ModelFactory<T extends object = Record<string, unknown>> = (data: T) => Model<T>;

interface ModelDefinition {
  qualifiedName: string;
  validate: ValidateFunction;
  /** Prototype from `x-parent`, so models can carry methods like the original's model classes. */
  proto: object;
  /** Keys data may not have: what the `x-parent` class defines, and `__proto__`. */
  reserved: ReadonlySet<string>;
}

/**
 * Data may not set what a model's class defines (methods, getters, `constructor`) nor
 * `__proto__`. As an own property such a key would shadow the class' member: a request body
 * could replace `getQuestion()` by a string (a 500), or a getter a handler trusts by a value of
 * its choosing. Dropping the key instead would change the data without telling its sender, so
 * the key is refused, named: a 400 INVALID_PARAMETER for a request body, MODEL_INVALID for data
 * given to a model constructor. Members of Object.prototype (`toString`...) stay allowed, as in
 * any JSON object, unless the class redefines them.
 */
function reservedKeys(proto: object): ReadonlySet<string> {
  const keys = new Set(['__proto__']);
  for (let p: object | null = proto; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    for (const key of Object.getOwnPropertyNames(p)) keys.add(key);
  }
  return keys;
}

/** The first key of `data` that `reservedKeys` refuses. */
function shadowingKey(def: ModelDefinition, data: object): string | undefined {
  if (def.reserved.size === 1) return Object.hasOwn(data, '__proto__') ? '__proto__' : undefined;
  return Object.keys(data).find((key) => def.reserved.has(key));
}

const registry = processSingleton('klue.model.registry', () => new Map<string, ModelDefinition>());

/** The qualified model name of a value, or undefined when it is not a model. */
export function modelNameOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const name = (value as { [MODEL_NAME]?: unknown })[MODEL_NAME];
  return typeof name === 'string' ? name : undefined;
}

export function isModel(value: unknown): value is Model {
  return modelNameOf(value) !== undefined;
}

export function registerModel(qualifiedName: string, validate: ValidateFunction, parent?: { prototype: object }): void {
  const proto = parent?.prototype ?? Object.prototype;
  registry.set(qualifiedName, { qualifiedName, validate, proto, reserved: reservedKeys(proto) });
}

export function hasModel(qualifiedName: string): boolean {
  return registry.has(qualifiedName);
}

/**
 * Makes a model of `data` without copying the caller's nested values twice: the top-level
 * object is copied (so the caller's object is not tagged) and validated against the definition.
 */
export function buildModel<T extends object>(qualifiedName: string, data: T): Model<T> {
  const def = registry.get(qualifiedName);
  if (!def) throw new KlueError('MODEL_INVALID', `Unknown model ${qualifiedName}`);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new KlueError('MODEL_INVALID', `${qualifiedName}: expected an object`);
  }
  const shadowing = shadowingKey(def, data);
  if (shadowing !== undefined) {
    throw new KlueError('MODEL_INVALID', `${qualifiedName}: '${shadowing}' names a member of the model's class and cannot be set by data`);
  }
  const obj: T = Object.assign(Object.create(def.proto) as object, data);
  if (!def.validate(obj)) {
    throw new KlueError('MODEL_INVALID', `${qualifiedName}: ${describeAjvErrors(def.validate.errors)}`, {
      details: { model: qualifiedName, errors: def.validate.errors },
    });
  }
  Object.defineProperty(obj, MODEL_NAME, { value: qualifiedName, enumerable: false });
  return obj as Model<T>;
}

/** Marks already-validated data (a request body) as a model without validating it again. */
export function tagModel<T extends object>(qualifiedName: string, data: T): Model<T> {
  const def = registry.get(qualifiedName);
  const shadowing = def && shadowingKey(def, data);
  if (shadowing !== undefined) {
    throw new KlueError('INVALID_PARAMETER', `body.${shadowing}: names a member of the model class of ${qualifiedName} and cannot be sent`);
  }
  if (def && def.proto !== Object.prototype) Object.setPrototypeOf(data, def.proto);
  Object.defineProperty(data, MODEL_NAME, { value: qualifiedName, enumerable: false, configurable: true });
  return data as Model<T>;
}
