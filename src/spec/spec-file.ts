import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { load as loadYaml, JSON_SCHEMA } from 'js-yaml';
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

type Where = (pointer: string) => Promise<string>;

async function specError(file: string, err: unknown, where: Where, bundled: boolean): Promise<KlueError> {
  const e = err as { message?: string; details?: { instancePath?: string; message?: string }[]; path?: unknown };
  let message = e.message ?? String(err);
  if (Array.isArray(e.details) && e.details.length > 0) {
    const lines = new Set<string>();
    for (const d of e.details.slice(0, 10)) lines.add(`${await where(d.instancePath ?? '')}: ${d.message ?? 'is invalid'}`);
    message = [...lines].join('; ');
    // A bundled spec's lines each name the file they are in already.
    if (bundled) return new KlueError('SPEC_INVALID', message, { cause: err, details: { file } });
  } else if (Array.isArray(e.path)) {
    message = `${e.path.join('.')}: ${message}`;
  }
  return new KlueError('SPEC_INVALID', `${file}: ${message}`, { cause: err, details: { file } });
}

/**
 * Where a pointer of a bundled spec was written: the bundler copied each file a `$ref` names
 * into the document, so the pointer is followed through the files as the user wrote them,
 * jumping along each `$ref` met on the way (`common/Error.json: properties.code.type`).
 */
function sourceWhere(entry: string, cwd: string): Where {
  const files = new Map<string, Promise<unknown>>();
  const read = (f: string) => {
    let doc = files.get(f);
    if (!doc) {
      doc = readDocument(f);
      files.set(f, doc);
    }
    return doc;
  };
  const step = (node: unknown, token: string): unknown => (isObject(node) || Array.isArray(node) ? (node as Record<string, unknown>)[token] : undefined);
  return async (pointer) => {
    let file = entry;
    let node = await read(file);
    let at: string[] = [];
    for (const token of pointer.split('/').filter(Boolean).map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'))) {
      for (let hops = 0; isObject(node) && typeof node.$ref === 'string' && hops < 20; hops++) {
        const [target = '', fragment = ''] = node.$ref.split('#');
        if (target) file = resolve(dirname(file), target);
        at = fragment.split('/').filter(Boolean).map((t) => decodeURIComponent(t).replaceAll('~1', '/').replaceAll('~0', '~'));
        node = await read(file);
        for (const t of at) node = step(node, t);
      }
      node = step(node, token);
      at.push(token);
    }
    return `${relative(cwd, file) || file}: ${at.join('.') || '(root)'}`;
  };
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
  await (await swaggerParser()).validate(structuredClone(doc) as never);
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
 * swagger-parser (with its own YAML parser and Ajv set-up) is loaded only to bundle a spec split
 * over files or to validate one not validated before: a worker or a CLI command on a service
 * whose specs are known valid reads them with js-yaml alone (`readDocument`).
 */
async function swaggerParser() {
  return (await import('@apidevtools/swagger-parser')).default;
}

/**
 * One file's document, read as swagger-parser reads it: js-yaml with its JSON schema (no dates,
 * no merge keys), which also takes the loose indentation real specs have (Docker's multi-line
 * quoted descriptions) where a strict YAML 1.2 parser refuses them. A `.json` file goes through
 * JSON.parse first, many times faster on the large specs that are usually JSON.
 */
async function readDocument(file: string): Promise<unknown> {
  const text = await readFile(file, 'utf8');
  if (extname(file).toLowerCase() === '.json') {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // Not JSON after all: YAML is a superset, and its parser names the line at fault.
    }
  }
  return loadYaml(text, { schema: JSON_SCHEMA });
}

/**
 * Reads a spec as one document whose `$ref`s are all local. The bundler crawls every `$ref` of
 * the document, which takes seconds on a spec of thousands: a spec in one file skips it.
 */
async function readBundled(file: string): Promise<{ doc: Record<string, unknown>; bundled: boolean }> {
  const parsed = await readDocument(file);
  if (!isObject(parsed)) throw new Error('the document is not a mapping of keys (an OpenAPI or Swagger object)');
  if (!hasExternalRef(parsed)) return { doc: parsed, bundled: false };
  return { doc: (await (await swaggerParser()).bundle(file)) as unknown as Record<string, unknown>, bundled: true };
}

/** Parses, bundles (cross-file `$ref`s made local) and validates a spec against its OpenAPI version. */
export async function loadSpecFile(file: string, cwd = process.cwd()): Promise<SpecFile> {
  const shown = relative(cwd, file) || file;
  let doc: Record<string, unknown>;
  let bundled = false;
  try {
    ({ doc, bundled } = await readBundled(file));
    await validateOnce(doc, cwd);
  } catch (err) {
    const where: Where = bundled ? sourceWhere(file, cwd) : (pointer) => Promise.resolve(decodePointer(pointer));
    throw await specError(shown, err, where, bundled);
  }
  const major = typeof doc.swagger === 'string' ? 2 : 3;
  // OpenAPI 3.1 makes `paths` optional: a document may describe only webhooks or components.
  const v31 = typeof doc.openapi === 'string' && doc.openapi.startsWith('3.1');
  if (!isObject(doc.paths) && !v31) throw new KlueError('SPEC_INVALID', `${shown}: paths: missing`);
  return { name: basename(file, extname(file)), file: shown, major, doc };
}
