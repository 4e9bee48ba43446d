/**
 * Real public specs, vendored unedited under test/fixtures/specs/ (each with its licence and
 * SOURCE.md), served end to end: each loads, serves /docs, validates one request of each kind
 * its bound operations have, answers 501 for an operation left unbound, and gives `klue types`
 * output that compiles under `tsc --strict`.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import { loadConfig } from '../../src/core/config/load-config.js';
import { rootLogger } from '../../src/core/log/logger.js';
import { writeApiTypes } from '../../src/service/types-gen.js';
import { startInProcess, type TestServer } from '../helpers/in-process.js';
import { repoRoot } from '../helpers/service-dir.js';

const FIXTURES = join(repoRoot, 'test', 'fixtures', 'specs');

interface Call {
  what: string;
  method: string;
  url: string;
  body?: string;
  type?: string;
  status: number;
  /** Expected error code of an error answer. */
  error?: string;
}

interface CorpusSpec {
  name: string;
  /** The spec file klue serves, inside the fixture folder. */
  entry: string;
  /** Handler module (plain JavaScript) exporting functions named by operationId. */
  handlers: string;
  calls: Call[];
  /** A gzip-compressed fixture: its file and the sha256 of the original bytes. */
  gzip?: { file: string; sha256: string };
}

const json = (what: string, method: string, url: string, body: unknown, status: number, error?: string): Call => ({
  what, method, url, body: JSON.stringify(body), type: 'application/json', status, error,
});

const CORPUS: CorpusSpec[] = [
  {
    name: 'oai-v2-petstore-separate',
    entry: 'spec/swagger.json',
    handlers: `export const findPets = ({ query }) => query.tags.map((name, id) => ({ id, name }));
export const addPet = ({ body }) => ({ id: 7, name: body.name });`,
    calls: [
      { what: 'query (csv array, int32)', method: 'GET', url: '/pets?tags=a&limit=2', status: 200 },
      { what: 'bad query', method: 'GET', url: '/pets?limit=lots', status: 400, error: 'INVALID_PARAMETER' },
      json('JSON body from another file', 'POST', '/pets', { id: 1, name: 'rex' }, 200),
      json('bad JSON body', 'POST', '/pets', { id: 1 }, 400, 'INVALID_PARAMETER'),
      { what: 'unbound operation', method: 'GET', url: '/pets/3', status: 501, error: 'NOT_IMPLEMENTED' },
    ],
  },
  {
    name: 'oai-v3.0-petstore',
    entry: 'petstore.yaml',
    handlers: `export const listPets = ({ query }) => [{ id: query.limit, name: 'rex' }];
export const showPetById = ({ path }) => [{ id: 1, name: path.petId }];`,
    calls: [
      { what: 'query', method: 'GET', url: '/pets?limit=3', status: 200 },
      { what: 'path', method: 'GET', url: '/pets/rex', status: 200 },
      { what: 'bad query', method: 'GET', url: '/pets?limit=x', status: 400, error: 'INVALID_PARAMETER' },
      { what: 'unbound operation', method: 'POST', url: '/pets', status: 501, error: 'NOT_IMPLEMENTED' },
    ],
  },
  {
    name: 'oai-v3.1-webhook-example',
    entry: 'webhook-example.yaml',
    handlers: `export const listPets = () => [{ id: 1, name: 'rex' }];`,
    calls: [
      { what: 'query', method: 'GET', url: '/pets?limit=1', status: 200 },
      { what: 'bad query', method: 'GET', url: '/pets?limit=1.5', status: 400, error: 'INVALID_PARAMETER' },
    ],
  },
  { name: 'readme-v3.1-webhooks', entry: 'webhooks.yaml', handlers: '', calls: [] },
  {
    name: 'readme-form-data',
    entry: 'form-data.yaml',
    // scope arrives as a string and is coerced to the declared int32 before the handler sees it
    handlers: `export const demoFormData = ({ body }) => ({ access_token: body.scope, token_type: body.client_id, expires_in: 60 });`,
    calls: [
      { what: 'form body', method: 'POST', url: '/anything', body: 'client_id=a&client_secret=b&scope=3', type: 'application/x-www-form-urlencoded', status: 200 },
      { what: 'bad form body', method: 'POST', url: '/anything', body: 'client_id=a&scope=3', type: 'application/x-www-form-urlencoded', status: 400, error: 'INVALID_PARAMETER' },
      json('undeclared JSON body', 'POST', '/anything', { client_id: 'a', client_secret: 'b' }, 415, 'UNSUPPORTED_MEDIA_TYPE'),
    ],
  },
  {
    name: 'readme-file-uploads',
    entry: 'file-uploads.yaml',
    handlers: '',
    calls: [
      {
        what: 'multipart body (parsed, then unbound)',
        method: 'POST',
        url: '/anything/multipart-formdata',
        body: '--XyZ\r\nContent-Disposition: form-data; name="orderId"\r\n\r\n12\r\n--XyZ\r\nContent-Disposition: form-data; name="documentFile"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XyZ--\r\n',
        type: 'multipart/form-data; boundary=XyZ',
        status: 501,
        error: 'NOT_IMPLEMENTED',
      },
      json('undeclared JSON body', 'POST', '/anything/multipart-formdata', { orderId: 1 }, 415, 'UNSUPPORTED_MEDIA_TYPE'),
    ],
  },
  {
    name: 'shipengine',
    entry: 'openapi.yaml',
    handlers: `export const delete_batch = () => '';
export const add_to_batch = () => '';`,
    calls: [
      { what: 'path', method: 'DELETE', url: '/v1/batches/se-28529731', status: 204 },
      json('JSON body', 'POST', '/v1/batches/se-28529731/add', {}, 204),
      json('bad JSON body', 'POST', '/v1/batches/se-28529731/add', { shipment_ids: 3 }, 400, 'INVALID_PARAMETER'),
      { what: 'unbound operation', method: 'GET', url: '/v1/carriers', status: 501, error: 'NOT_IMPLEMENTED' },
    ],
  },
  {
    name: 'docker-engine-v1.37',
    entry: 'swagger.yaml',
    handlers: `export const SystemPing = () => 'OK';
export const ContainerList = ({ query }) => [{ Id: 'c1', Names: ['/web'], SizeRw: query.limit ?? 0 }];
export const ContainerCreate = ({ body }) => ({ Id: 'c2', Warnings: body.Image ? [] : ['no image'] });
export const ContainerArchiveInfo = () => undefined;`,
    calls: [
      { what: 'text response', method: 'GET', url: '/_ping', status: 200 },
      { what: 'query', method: 'GET', url: '/containers/json?all=true&limit=2', status: 200 },
      { what: 'bad query', method: 'GET', url: '/containers/json?limit=two', status: 400, error: 'INVALID_PARAMETER' },
      json('allOf JSON body', 'POST', '/containers/create?name=web', { Image: 'nginx', HostConfig: { Memory: 0 } }, 201),
      json('bad allOf JSON body', 'POST', '/containers/create', { Image: 3 }, 400, 'INVALID_PARAMETER'),
      { what: 'HEAD beside GET on one path', method: 'HEAD', url: '/containers/c1/archive?path=/etc', status: 200 },
      { what: 'unbound GET beside the bound HEAD', method: 'GET', url: '/containers/c1/archive?path=/etc', status: 501, error: 'NOT_IMPLEMENTED' },
    ],
  },
  {
    name: 'github-rest',
    entry: 'api.github.com.json',
    gzip: { file: 'api.github.com.json.gz', sha256: '829b4bebb19a53133289f7b0bc819f4f1118115821db2ca9f25e9ee995a7da2a' },
    // GitHub's operationIds (`meta/get-zen`) are not identifiers: string export names bind them.
    handlers: `const zen = () => 'Keep it logically awesome.';
const render = ({ body }) => '<p>' + body.text + '</p>';
const events = () => [];
export { zen as 'meta/get-zen', render as 'markdown/render', events as 'activity/list-public-events' };`,
    calls: [
      { what: 'text response', method: 'GET', url: '/zen', status: 200 },
      json('JSON body', 'POST', '/markdown', { text: 'hi', mode: 'gfm' }, 200),
      json('bad JSON body', 'POST', '/markdown', { mode: 'gfm' }, 400, 'INVALID_PARAMETER'),
      { what: 'query', method: 'GET', url: '/events?per_page=5', status: 200 },
      { what: 'bad query', method: 'GET', url: '/events?per_page=x', status: 400, error: 'INVALID_PARAMETER' },
      { what: 'unbound operation', method: 'GET', url: '/emojis', status: 501, error: 'NOT_IMPLEMENTED' },
    ],
  },
];

const dirs: string[] = [];
// klue's start-up warnings (unbound operations, unknown formats) go to the root logger: recorded, not printed.
let warn: MockInstance;
let warned: unknown[][] = [];
beforeAll(() => {
  warn = vi.spyOn(rootLogger(), 'warn').mockImplementation(() => undefined);
});
afterAll(() => {
  warn.mockRestore();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A service folder serving the fixture unedited from `apis/`, with its handler module. */
function serviceFor(spec: CorpusSpec): string {
  const dir = mkdtempSync(join(tmpdir(), 'klue-corpus-'));
  dirs.push(dir);
  cpSync(join(FIXTURES, spec.name), join(dir, 'apis'), { recursive: true, filter: (src) => !src.endsWith('.gz') });
  if (spec.gzip) {
    const bytes = gunzipSync(readFileSync(join(FIXTURES, spec.name, spec.gzip.file)));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(spec.gzip.sha256);
    writeFileSync(join(dir, 'apis', spec.entry), bytes);
  }
  mkdirSync(join(dir, 'handlers'));
  writeFileSync(join(dir, 'handlers', 'ops.mjs'), `${spec.handlers}\n`);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'corpus', private: true, type: 'module' }));
  writeFileSync(join(dir, 'klue-config.yaml'), `name: corpus\napis: [apis/${spec.entry}]\nhandlers: handlers/*.mjs\nstrict_bindings: false\nmetrics_path: false\n`);
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(repoRoot, join(dir, 'node_modules', 'klue'), 'dir');
  return dir;
}

/** Type-checks files under the repo's compiler options, strict, with `klue` resolved to its source. */
function typeErrors(files: string[]): string[] {
  const config = ts.readConfigFile(join(repoRoot, 'tsconfig.json'), (f) => ts.sys.readFile(f));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, repoRoot);
  const program = ts.createProgram(files, { ...parsed.options, rootDir: undefined, strict: true, noEmit: true, incremental: false, declaration: false, sourceMap: false });
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe.each(CORPUS)('$name', (spec) => {
  let server: TestServer;
  let dir: string;

  it('loads, serves /docs and answers each bound operation kind', { timeout: 60_000 }, async () => {
    dir = serviceFor(spec);
    warn.mockClear();
    const consoleWarn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      server = await startInProcess(dir);
      // Ajv's own warnings (an unknown format at each schema using it) are not JSON log lines.
      expect(consoleWarn).not.toHaveBeenCalled();
    } finally {
      consoleWarn.mockRestore();
    }
    warned = warn.mock.calls;
    try {
      const docs = await fetch(`${server.url}/docs/`);
      expect(docs.status).toBe(200);
      expect(await docs.text()).toContain('swagger');
      const served = await fetch(`${server.url}/docs/${spec.entry.replace(/^.*\//, '').replace(/\.[^.]+$/, '')}.json`);
      expect(served.status).toBe(200);
      expect(((await served.json()) as { info?: unknown }).info).toBeDefined();
      for (const call of spec.calls) {
        const res = await fetch(`${server.url}${call.url}`, { method: call.method, body: call.body, headers: call.type ? { 'content-type': call.type } : {} });
        const text = await res.text();
        const error = res.status >= 400 ? (JSON.parse(text) as { error?: string }).error : undefined;
        expect({ what: call.what, status: res.status, error }).toEqual({ what: call.what, status: call.status, error: call.error });
      }
      // Each unknown format is logged once, in one structured line.
      const formats = warned.map(([fields]) => (fields as { format?: string }).format).filter(Boolean);
      expect(new Set(formats).size).toBe(formats.length);
    } finally {
      await server.close();
    }
  });

  it('klue types output compiles under tsc --strict', { timeout: 120_000 }, async () => {
    const config = await loadConfig({ dir });
    const written = await writeApiTypes(config);
    expect(written).toHaveLength(1);
    expect(typeErrors(written)).toEqual([]);
  });
});
