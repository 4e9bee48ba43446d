import type { ValidateFunction } from 'ajv';
import { KlueError } from '../errors/klue-error.js';
import { describeAjvErrors } from './ajv.js';

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
}

const KEY = Symbol.for('klue.model.registry');
const holder = globalThis as unknown as Record<symbol, Map<string, ModelDefinition> | undefined>;
const registry: Map<string, ModelDefinition> = (holder[KEY] ??= new Map<string, ModelDefinition>());

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
  registry.set(qualifiedName, { qualifiedName, validate, proto: parent?.prototype ?? Object.prototype });
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
  if (def && def.proto !== Object.prototype) Object.setPrototypeOf(data, def.proto);
  Object.defineProperty(data, MODEL_NAME, { value: qualifiedName, enumerable: false, configurable: true });
  return data as Model<T>;
}
