import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { importModule } from './module-loader.js';
import { KlueError } from '../core/errors/klue-error.js';

export interface BindingRef {
  /** Module path relative to the service folder, without extension (`helloworld/api`). */
  module: string;
  exportName: string;
}

/**
 * Parses `path/to/module#exportName` or the Python original's dotted form
 * (`helloworld.api.do_hello` → module `helloworld/api`, export `do_hello`).
 */
export function parseBinding(value: string): BindingRef | undefined {
  const hash = value.lastIndexOf('#');
  if (hash > 0 && hash < value.length - 1) return { module: value.slice(0, hash), exportName: value.slice(hash + 1) };
  const parts = value.split('.');
  const exportName = parts.pop();
  if (!exportName || parts.length === 0 || parts.some((p) => p === '')) return undefined;
  return { module: parts.join('/'), exportName };
}

const EXTENSIONS = ['.ts', '.mts', '.js', '.mjs', '.tsx', '.cts', '.cjs'];

/** Finds the file a binding's module names, trying the usual extensions and index files. */
export function resolveModuleFile(dir: string, module: string): string | undefined {
  const base = resolve(dir, module);
  if (/\.[cm]?[jt]sx?$/.test(base) && existsSync(base)) return base;
  for (const ext of EXTENSIONS) if (existsSync(base + ext)) return base + ext;
  for (const ext of EXTENSIONS) if (existsSync(join(base, `index${ext}`))) return join(base, `index${ext}`);
  return undefined;
}

const moduleCache = new Map<string, Promise<Record<string, unknown>>>();

/** Imports a service module once (users' .ts files load through tsx, which the CLI installs when first needed). */
export function importServiceModule(file: string): Promise<Record<string, unknown>> {
  let mod = moduleCache.get(file);
  if (!mod) {
    mod = importModule(file);
    moduleCache.set(file, mod);
  }
  return mod;
}

/**
 * Resolves and imports a binding, returning the named export. `where` names the spec file and
 * JSON path for the error when anything is missing.
 */
export async function loadBinding(dir: string, value: string, where: string): Promise<unknown> {
  const ref = parseBinding(value);
  if (!ref) throw new KlueError('BINDING_INVALID', `${where}: '${value}' is not 'module#export' or 'package.module.export'`);
  const file = resolveModuleFile(dir, ref.module);
  if (!file) {
    throw new KlueError('BINDING_INVALID', `${where}: module '${ref.module}' of '${value}' not found under ${dir}`, {
      details: { binding: value },
    });
  }
  let mod: Record<string, unknown>;
  try {
    mod = await importServiceModule(file);
  } catch (err) {
    throw new KlueError('BINDING_INVALID', `${where}: importing ${file} failed: ${(err as Error).message}`, { cause: err });
  }
  if (!(ref.exportName in mod) || mod[ref.exportName] === undefined) {
    throw new KlueError('BINDING_INVALID', `${where}: module ${file} has no export '${ref.exportName}'`, {
      details: { binding: value, exports: Object.keys(mod) },
    });
  }
  return mod[ref.exportName];
}
