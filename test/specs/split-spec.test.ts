/**
 * A large real spec split over many files, as teams keep theirs: GitHub's REST API (vendored in
 * the corpus) cut into one file per path prefix and one per kind of component, its ten thousand
 * `$ref`s rewritten to point across those files. It must load and serve, and a mistake in one of
 * the files must be named by that file and the path inside it, not by a bundled document's.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import { loadConfig } from '../../src/core/config/load-config.js';
import { rootLogger } from '../../src/core/log/logger.js';
import { loadService } from '../../src/service/load-service.js';
import { startInProcess } from '../helpers/in-process.js';
import { repoRoot, writeService, type ServiceDir } from '../helpers/service-dir.js';

const GZ = join(repoRoot, 'test', 'fixtures', 'specs', 'github-rest', 'api.github.com.json.gz');
const SHA256 = '829b4bebb19a53133289f7b0bc819f4f1118115821db2ca9f25e9ee995a7da2a';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Rewrites every `#/components/<kind>/<name>` ref to the file of that kind, relative to `toComponents`. */
function relink(value: Json, toComponents: string): { value: Json; refs: number } {
  let refs = 0;
  const walk = (v: Json): Json => {
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== 'object') return v;
    const out: { [key: string]: Json } = {};
    for (const [k, child] of Object.entries(v)) {
      const m = k === '$ref' && typeof child === 'string' ? /^#\/components\/([^/]+)\/(.+)$/.exec(child) : null;
      if (m) {
        refs++;
        out[k] = `${toComponents}${m[1]}.json#/${m[2]}`;
      } else out[k] = walk(child);
    }
    return out;
  };
  return { value: walk(value), refs };
}

/** JSON pointer token of a key. */
const token = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');

interface Split {
  files: Record<string, string>;
  operations: number;
  crossFileRefs: number;
}

/** GitHub's spec as a root file, `paths/<first segment>.json` and `components/<kind>.json`. */
function splitGithub(): Split {
  const bytes = gunzipSync(readFileSync(GZ));
  expect(createHash('sha256').update(bytes).digest('hex')).toBe(SHA256);
  const doc = JSON.parse(bytes.toString('utf8')) as { [key: string]: Json } & { paths: Record<string, Record<string, Json>>; components: Record<string, Json> };
  const files: Record<string, string> = {};
  let crossFileRefs = 0;
  const write = (name: string, value: Json, toComponents: string): void => {
    const r = relink(value, toComponents);
    crossFileRefs += r.refs;
    files[`apis/${name}`] = JSON.stringify(r.value, null, 1);
  };
  const { securitySchemes, ...kinds } = doc.components;
  for (const [kind, entries] of Object.entries(kinds)) write(`components/${kind}.json`, entries, './');
  const byPrefix = new Map<string, Record<string, Json>>();
  const paths: Record<string, Json> = {};
  let operations = 0;
  for (const [path, item] of Object.entries(doc.paths)) {
    const prefix = (path.split('/')[1] ?? 'root').replace(/[^a-z0-9-]/gi, '_') || 'root';
    if (!byPrefix.has(prefix)) byPrefix.set(prefix, {});
    byPrefix.get(prefix)![path] = item;
    paths[path] = { $ref: `paths/${prefix}.json#/${token(path)}` };
    operations += Object.keys(item).filter((k) => ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'].includes(k)).length;
  }
  for (const [prefix, items] of byPrefix) write(`paths/${prefix}.json`, items, '../components/');
  write('api.json', { ...doc, paths, components: securitySchemes === undefined ? {} : { securitySchemes } }, 'components/');
  return { files, operations, crossFileRefs };
}

const HANDLERS = `const render = ({ body }) => '<p>' + body.text + '</p>';
const user = ({ path }) => ({ login: path.username });
export { render as 'markdown/render', user as 'users/get-by-username' };
`;

let split: Split;
const dirs: ServiceDir[] = [];
let warn: MockInstance;
beforeAll(() => {
  warn = vi.spyOn(rootLogger(), 'warn').mockImplementation(() => undefined);
  split = splitGithub();
});
afterAll(() => {
  warn.mockRestore();
  for (const d of dirs) d.cleanup();
});

const serviceOf = (files: Record<string, string>): ServiceDir => {
  const svc = writeService({
    'klue-config.yaml': 'name: split\napis: [apis/api.json]\nhandlers: handlers/*.mjs\nstrict_bindings: false\nmetrics_path: false\n',
    'package.json': JSON.stringify({ name: 'split', private: true, type: 'module' }),
    'handlers/ops.mjs': HANDLERS,
    ...files,
  });
  dirs.push(svc);
  return svc;
};

describe("GitHub's REST API split over files", () => {
  it('is really large and really split', () => {
    expect(Object.keys(split.files).length).toBeGreaterThan(40);
    expect(split.operations).toBeGreaterThan(1000);
    expect(split.crossFileRefs).toBeGreaterThan(9000);
  });

  it('loads, serves /docs and validates requests through refs across files', { timeout: 180_000 }, async () => {
    const svc = serviceOf(split.files);
    const server = await startInProcess(svc.dir);
    try {
      expect((await fetch(`${server.url}/docs/`)).status).toBe(200);
      const ok = await fetch(`${server.url}/markdown`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'hi' }) });
      expect({ status: ok.status, body: await ok.text() }).toEqual({ status: 200, body: '<p>hi</p>' });
      const bad = await fetch(`${server.url}/markdown`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode: 'gfm' }) });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toBe('INVALID_PARAMETER');
      const unbound = await fetch(`${server.url}/emojis`);
      expect(unbound.status).toBe(501);
    } finally {
      await server.close();
    }
  });

  it('names the file and the path inside it of a mistake in one of its files', { timeout: 180_000 }, async () => {
    const schemas = JSON.parse(split.files['apis/components/schemas.json']!) as Record<string, { properties: Record<string, { type?: string }> }>;
    schemas['simple-user']!.properties.login!.type = 'strin';
    const svc = serviceOf({ ...split.files, 'apis/components/schemas.json': JSON.stringify(schemas, null, 1) });
    await expect(loadService(await loadConfig({ dir: svc.dir }))).rejects.toMatchObject({
      code: 'SPEC_INVALID',
      message: expect.stringContaining('apis/components/schemas.json: simple-user.properties.login.type'),
    });
  });
});
