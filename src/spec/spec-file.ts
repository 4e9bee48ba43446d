import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { KlueError } from '../core/errors/klue-error.js';
import { isObject } from '../util/is-object.js';

/** One API spec file, bundled into one document whose `$ref`s are all local. */
export interface SpecFile {
  /** API name: the file's base name (`apis/helloworld.yaml` → `helloworld`). */
  name: string;
  file: string;
  /** 2 for Swagger 2.0, 3 for OpenAPI 3.0/3.1. */
  major: 2 | 3;
  doc: Record<string, unknown>;
}

function specError(file: string, err: unknown): KlueError {
  const e = err as { message?: string; details?: { instancePath?: string; message?: string }[]; path?: unknown };
  let message = e.message ?? String(err);
  if (Array.isArray(e.details) && e.details.length > 0) {
    message = e.details
      .slice(0, 10)
      .map((d) => `${decodePointer(d.instancePath ?? '')}: ${d.message ?? 'is invalid'}`)
      .join('; ');
  } else if (Array.isArray(e.path)) {
    message = `${e.path.join('.')}: ${message}`;
  }
  return new KlueError('SPEC_INVALID', `${file}: ${message}`, { cause: err, details: { file } });
}

/** `/paths/~1hello/get` → `paths./hello.get`: the JSON path as a user reads it. */
export function decodePointer(pointer: string): string {
  return pointer
    .split('/')
    .filter(Boolean)
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'))
    .join('.');
}

/**
 * Validates a bundled spec against its OpenAPI version, unless this very document was found
 * valid before: validation compiles the OpenAPI meta-schema each time (a quarter of a second
 * on 2 cores), and every start of the server, of each worker and of `klue tasks` would repeat
 * it. A document is remembered by the SHA-256 of its JSON under `<service>/.klue/valid-specs/`;
 * where that folder cannot be written, every start validates.
 */
async function validateOnce(doc: Record<string, unknown>, cwd: string): Promise<void> {
  const seen = join(cwd, '.klue', 'valid-specs', createHash('sha256').update(JSON.stringify(doc)).digest('hex'));
  if (existsSync(seen)) return;
  // validate() dereferences in place: give it a copy so `doc` keeps its $refs (they name models).
  await SwaggerParser.validate(structuredClone(doc) as never);
  try {
    mkdirSync(dirname(seen), { recursive: true, mode: 0o700 });
    writeFileSync(seen, '', { mode: 0o600 });
  } catch {
    // A read-only service folder: validated again next time.
  }
}

/** Whether a document `$ref`s another file (or URL) anywhere. */
function hasExternalRef(node: unknown): boolean {
  const stack: unknown[] = [node];
  while (stack.length > 0) {
    const n = stack.pop();
    if (Array.isArray(n)) stack.push(...(n as unknown[]));
    else if (isObject(n)) {
      if (typeof n.$ref === 'string' && !n.$ref.startsWith('#')) return true;
      for (const v of Object.values(n)) if (typeof v === 'object' && v !== null) stack.push(v);
    }
  }
  return false;
}

/**
 * Reads a spec as one document whose `$ref`s are all local. The bundler crawls every `$ref` of
 * the document, which takes seconds on a spec of thousands: a spec in one file skips it.
 */
async function readBundled(file: string): Promise<Record<string, unknown>> {
  const parsed = (await SwaggerParser.parse(file)) as unknown as Record<string, unknown>;
  if (!hasExternalRef(parsed)) return parsed;
  return (await SwaggerParser.bundle(file)) as unknown as Record<string, unknown>;
}

/** Parses, bundles (cross-file `$ref`s made local) and validates a spec against its OpenAPI version. */
export async function loadSpecFile(file: string, cwd = process.cwd()): Promise<SpecFile> {
  const shown = relative(cwd, file) || file;
  let doc: Record<string, unknown>;
  try {
    doc = await readBundled(file);
    await validateOnce(doc, cwd);
  } catch (err) {
    throw specError(shown, err);
  }
  const major = typeof doc.swagger === 'string' ? 2 : 3;
  // OpenAPI 3.1 makes `paths` optional: a document may describe only webhooks or components.
  const v31 = typeof doc.openapi === 'string' && doc.openapi.startsWith('3.1');
  if (!isObject(doc.paths) && !v31) throw new KlueError('SPEC_INVALID', `${shown}: paths: missing`);
  return { name: basename(file, extname(file)), file: shown, major, doc };
}
