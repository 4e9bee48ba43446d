import type { ValidateFunction } from 'ajv';
import { KlueError } from '../core/errors/klue-error.js';
import { registerApi } from '../spec/api-pool.js';
import { loadBinding } from './binding.js';
import { rootLogger } from '../core/log/logger.js';
import { definitionRef, type JsonSchema } from '../spec/json-schema.js';
import { registerModel } from '../spec/models.js';
import { extractOperations, specDefinitions, type Operation } from '../spec/operations.js';
import type { SchemaSet } from '../spec/schemas.js';
import { loadSpecFile, type SpecFile } from '../spec/spec-file.js';
import { specSchemas } from '../spec/spec-schemas.js';

export interface LoadedApi {
  spec: SpecFile;
  operations: Operation[];
  /** False for an API the service only calls (`clients:`): its operations are not served. */
  served: boolean;
}

function compileOrFail(schemas: SchemaSet, spec: Pick<SpecFile, 'file'>, where: string, schema: JsonSchema) {
  try {
    return schemas.compileExact(schema);
  } catch (err) {
    throw new KlueError('SPEC_INVALID', `${spec.file}: ${where}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Compiles every validator of an operation a server serves, so that a schema Ajv cannot
 * compile fails start-up naming its file and JSON path. An operation left without a handler
 * answers 501 and validates nothing: a large third-party spec of which a service implements a
 * few operations does not pay for compiling the rest.
 */
export function compileOperation(schemas: SchemaSet, op: Operation): void {
  for (const [part, schema] of [['params', op.params], ['querystring', op.querystring], ['headers', op.headers], ['body', op.body], ['form body', op.formBody]] as const) {
    if (schema) compileOrFail(schemas, op, `${op.where} (${part})`, schema);
  }
  for (const [status, res] of op.responses) {
    if (res.schema) compileOrFail(schemas, op, `${op.where}.responses.${status}`, res.schema);
  }
}

/** A model's validator, compiled the first time a model is built: a worker builds few kinds, if any. */
function lazyValidator(compile: () => ValidateFunction): ValidateFunction {
  let compiled: ValidateFunction | undefined;
  const validate = ((data: unknown) => {
    compiled ??= compile();
    const ok = compiled(data);
    validate.errors = compiled.errors;
    return ok;
  }) as ValidateFunction;
  return validate;
}

/**
 * Loads every spec file: validates it, registers its definitions as models (with their
 * `x-parent` classes) and in `ApiPool`, and extracts its operations. With `compileAll` (a
 * server) every model's validator is compiled now, so that everything that can be wrong with a
 * spec fails here, at start-up, naming the file and JSON path (the server compiles its bound
 * operations' with `compileOperation`); without it (a worker, which validates no request)
 * models compile when first built and operations never.
 */
export async function loadApis(dir: string, files: string[], schemas: SchemaSet, compileAll = true, called: ReadonlySet<string> = new Set()): Promise<LoadedApi[]> {
  const specs: SpecFile[] = [];
  for (const file of files) specs.push(await loadSpecFile(file, dir));
  const names = new Map<string, string>();
  const operationsOf = new Map<SpecFile, Operation[]>();
  for (const spec of specs) {
    const other = names.get(spec.name);
    if (other) throw new KlueError('SPEC_INVALID', `${spec.file}: API name '${spec.name}' is also used by ${other}`);
    names.set(spec.name, spec.file);
    const converter = specSchemas(spec);
    const defs = Object.fromEntries(Object.entries(specDefinitions(spec)).map(([n, s]) => [n, converter.convert(s)]));
    // Before the definitions are added: the operations' schemas may point at schemas outside them.
    const operations = extractOperations(spec);
    operationsOf.set(spec, operations);
    const all = { ...defs, ...converter.pointedSchemas() };
    const opSchemas = operations.flatMap((op) => [op.params, op.querystring, op.headers, op.body, op.formBody, ...[...op.responses.values()].map((r) => r.schema)]);
    for (const format of schemas.acceptFormats([all, opSchemas])) {
      rootLogger().warn({ api: spec.name, file: spec.file, format }, `unknown format '${format}': its values are accepted unchecked`);
    }
    schemas.addDefinitions(spec.name, all);
  }
  const loaded: LoadedApi[] = [];
  for (const spec of specs) {
    const served = !called.has(spec.name);
    const defs = specDefinitions(spec);
    const defsWhere = spec.major === 2 ? 'definitions' : 'components.schemas';
    for (const [name, schema] of Object.entries(defs)) {
      const where = `${defsWhere}.${name}`;
      const ref = { $ref: definitionRef(spec.name, name) };
      const validate = compileAll ? compileOrFail(schemas, spec, where, ref) : lazyValidator(() => compileOrFail(schemas, spec, where, ref));
      let parent: { prototype: object } | undefined;
      // The classes of an API the service only calls are the other service's code: its models are plain.
      const parentRef = served ? schema['x-parent'] : undefined;
      if (typeof parentRef === 'string') {
        const exported = await loadBinding(dir, parentRef, `${spec.file}: ${where}.x-parent`);
        if (typeof exported !== 'function') {
          throw new KlueError('BINDING_INVALID', `${spec.file}: ${where}.x-parent: '${parentRef}' is not a class`);
        }
        parent = exported;
      }
      registerModel(`${spec.name}.${name}`, validate, parent);
    }
    registerApi(spec.name, spec.file, spec.doc, Object.keys(defs));
    const operations = operationsOf.get(spec) ?? [];
    // A called API's operations compile at start-up on a server too: a spec error fails there, not on the first call.
    if (!served && compileAll) for (const op of operations) compileOperation(schemas, op);
    loaded.push({ spec, operations, served });
  }
  return loaded;
}
