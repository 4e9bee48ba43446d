/**
 * What the corpus of real specs needs, each shown on a spec small enough to read: unbound
 * operations (501, one warning, strict_bindings), GET and HEAD on one path, definitions that are
 * not objects, unknown formats, and a response failing on several fields.
 */
import { join } from 'node:path';
import ts from 'typescript';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { loadConfig } from '../../src/core/config/load-config.js';
import { rootLogger } from '../../src/core/log/logger.js';
import { loadService } from '../../src/service/load-service.js';
import { writeApiTypes } from '../../src/service/types-gen.js';
import { startInProcess } from '../helpers/in-process.js';
import { repoRoot, writeService, type ServiceDir } from '../helpers/service-dir.js';

let warn: MockInstance;
let svc: ServiceDir | undefined;
beforeEach(() => {
  // klue's start-up warnings go to the process' root logger: recorded here, printed nowhere.
  warn = vi.spyOn(rootLogger(), 'warn').mockImplementation(() => undefined);
});
afterEach(() => {
  warn.mockRestore();
  svc?.cleanup();
  svc = undefined;
});

const service = (spec: string, handlers: string, config = ''): ServiceDir =>
  (svc = writeService({
    'klue-config.yaml': `name: points\napis: [apis/api.yaml]\nhandlers: handlers/*.mjs\nmetrics_path: false\n${config}`,
    'package.json': JSON.stringify({ name: 'points', private: true, type: 'module' }),
    'apis/api.yaml': spec,
    'handlers/ops.mjs': handlers,
  }));

const PETS = `swagger: '2.0'
info: { title: pets, version: '1' }
paths:
  /pets:
    get:
      operationId: listPets
      responses:
        200:
          description: ok
          schema: { type: array, items: { $ref: '#/definitions/Pet' } }
    post:
      operationId: addPet
      parameters: [{ name: pet, in: body, required: true, schema: { $ref: '#/definitions/Pet' } }]
      responses: { 201: { description: created } }
    head:
      operationId: petsExist
      responses: { 204: { description: there are pets } }
  /pets/{id}:
    delete:
      operationId: deletePet
      parameters: [{ name: id, in: path, required: true, type: integer }]
      responses: { 204: { description: deleted } }
definitions:
  Pet:
    type: object
    required: [id, name, kind]
    properties:
      id: { type: integer }
      name: { type: string }
      kind: { $ref: '#/definitions/Kind' }
  Kind: { type: string, enum: [cat, dog] }
  Nickname: { type: string, x-nullable: true }
  Owner: { type: object, x-nullable: true, properties: { name: { type: string } } }
  Age: { type: integer, format: uint64 }
`;

/** The compiler's messages for a file, under the repo's options made strict, `klue` being its source. */
function typeErrors(file: string): string[] {
  const config = ts.readConfigFile(join(repoRoot, 'tsconfig.json'), (f) => ts.sys.readFile(f));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, repoRoot);
  const program = ts.createProgram([file], { ...parsed.options, rootDir: undefined, strict: true, noEmit: true, declaration: false, sourceMap: false });
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe('operations without x-bind-server', () => {
  it('bind by operationId to the handlers modules; the others answer 501 after one warning listing them', async () => {
    const dir = service(PETS, `export const listPets = () => [{ id: 1, name: 'rex', kind: 'dog' }];\nexport const petsExist = () => undefined;\n`).dir;
    const server = await startInProcess(dir);
    try {
      expect((await fetch(`${server.url}/pets`)).status).toBe(200);
      const res = await fetch(`${server.url}/pets/3`, { method: 'DELETE' });
      expect(res.status).toBe(501);
      expect(await res.json()).toMatchObject({ status: 501, error: 'NOT_IMPLEMENTED', error_id: expect.any(String), user_message: expect.anything() });
      const unbound = warn.mock.calls.filter(([, msg]) => typeof msg === 'string' && msg.includes('NOT_IMPLEMENTED'));
      expect(unbound).toHaveLength(1);
      expect(unbound[0]![0]).toMatchObject({ count: 2, operations: ['POST /pets (addPet)', 'DELETE /pets/{id} (deletePet)'] });
    } finally {
      await server.close();
    }
  });

  it('with strict_bindings, refuse to start naming every unbound operation at once', async () => {
    const dir = service(PETS, `export const listPets = () => [];\n`, 'strict_bindings: true\n').dir;
    await expect(loadService(await loadConfig({ dir }))).rejects.toMatchObject({
      code: 'BINDING_INVALID',
      message: expect.stringMatching(/3 operation\(s\).*POST \/pets \(addPet\).*HEAD \/pets \(petsExist\).*DELETE \/pets\/\{id\} \(deletePet\)/),
    });
  });

  it('refuse two handlers modules exporting one operationId', async () => {
    const dir = writeService({
      'klue-config.yaml': 'name: points\napis: [apis/api.yaml]\nhandlers: handlers/*.mjs\n',
      'apis/api.yaml': PETS,
      'handlers/a.mjs': 'export const listPets = () => [];\n',
      'handlers/b.mjs': 'export const listPets = () => [];\n',
    });
    svc = dir;
    await expect(loadService(await loadConfig({ dir: dir.dir }))).rejects.toMatchObject({
      code: 'BINDING_INVALID',
      message: expect.stringContaining("'listPets' is exported by both handlers/a.mjs and handlers/b.mjs"),
    });
  });
});

describe('a path with both GET and HEAD', () => {
  it('starts, and HEAD is answered by its own operation', async () => {
    const dir = service(PETS, `export const listPets = () => [];\nexport const petsExist = () => undefined;\n`).dir;
    const server = await startInProcess(dir);
    try {
      expect((await fetch(`${server.url}/pets`, { method: 'HEAD' })).status).toBe(204);
      expect((await fetch(`${server.url}/pets`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

const SHAPES = `openapi: 3.1.0
info: { title: shapes, version: '1' }
paths:
  /shapes/{id}:
    get:
      operationId: getShape
      parameters: [{ name: id, in: path, required: true, schema: { type: string, format: uint64 } }]
      responses:
        '200':
          description: ok
          content: { application/json: { schema: { $ref: '#/components/schemas/Shape' } } }
components:
  schemas:
    Shape:
      type: object
      required: [id, size, state, count]
      properties:
        id: { type: integer, format: uint64 }
        size: { type: string, format: int32 }
        state: { $ref: '#/components/schemas/State' }
        count: { $ref: '#/components/schemas/Count' }
        label: { $ref: '#/components/schemas/Label' }
        owner: { $ref: '#/components/schemas/Owner' }
    State: { type: string, enum: [solid, liquid], format: dsl-state }
    Count: { type: integer, format: uint64, minimum: 0 }
    Label: { type: [string, 'null'], format: dsl-state }
    Owner:
      type: [object, 'null']
      properties: { name: { type: string, format: dsl-state } }
`;

describe('definitions that are not objects, and unknown formats', () => {
  it.each([
    ['OpenAPI 3.1 (type arrays)', SHAPES],
    ['Swagger 2.0 (x-nullable)', PETS],
  ])('klue types output of %s compiles under tsc --strict', { timeout: 60_000 }, async (_name, spec) => {
    const dir = service(spec, '').dir;
    const [file] = await writeApiTypes(await loadConfig({ dir }));
    expect(typeErrors(file!)).toEqual([]);
  });

  it('are accepted with one structured log line per unknown format and no Ajv warning', async () => {
    const consoleWarn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const dir = service(SHAPES, `export const getShape = ({ path }) => ({ id: Number(path.id), size: '12', state: 'solid', count: 3, label: null, owner: null });\n`).dir;
    const server = await startInProcess(dir);
    try {
      expect((await fetch(`${server.url}/shapes/18446744073709551615`)).status).toBe(200);
      const formats = warn.mock.calls.map(([fields]) => (fields as { format?: string }).format).filter(Boolean);
      expect(formats.sort()).toEqual(['dsl-state', 'uint64']);
      expect(consoleWarn).not.toHaveBeenCalled();
    } finally {
      consoleWarn.mockRestore();
      await server.close();
    }
  });
});

describe('response validation', () => {
  it('logs every failing field of a bad response, not the first one only', async () => {
    const dir = service(SHAPES, `export const getShape = () => ({ id: 'x', state: 'gas', count: -1 });\n`).dir;
    const server = await startInProcess(dir);
    try {
      const res = await fetch(`${server.url}/shapes/1`);
      expect(res.status).toBe(500);
      const line = server.logs.find((l) => l.code === 'BAD_RESPONSE');
      for (const field of ['response.id', 'response.size', 'response.state', 'response.count']) expect(line?.msg).toContain(field);
      expect(await res.text()).not.toContain('response.id');
    } finally {
      await server.close();
    }
  });
});

describe('a spec split over files', () => {
  it('names the file and JSON path the user wrote of a mistake in a referenced file', async () => {
    svc = writeService({
      'klue-config.yaml': 'name: points\napis: [apis/api.yaml]\nstrict_bindings: false\n',
      'apis/api.yaml': `swagger: '2.0'
info: { title: split, version: '1' }
paths:
  /pets:
    get:
      responses:
        200: { description: ok, schema: { $ref: 'models/pet.yaml' } }
`,
      'apis/models/pet.yaml': 'type: object\nproperties:\n  age: { type: integr }\n',
    });
    await expect(loadService(await loadConfig({ dir: svc.dir }))).rejects.toMatchObject({
      code: 'SPEC_INVALID',
      message: expect.stringContaining('apis/models/pet.yaml: properties.age.type: must be equal to one of the allowed values'),
    });
  });
});

describe('form bodies', () => {
  const UPLOAD = `swagger: '2.0'
info: { title: upload, version: '1' }
paths:
  /upload:
    post:
      operationId: upload
      consumes: [multipart/form-data, application/x-www-form-urlencoded]
      parameters:
        - { name: name, in: formData, type: string, required: true }
        - { name: count, in: formData, type: integer }
        - { name: file, in: formData, type: file }
      responses:
        200:
          description: ok
          schema:
            type: object
            required: [name]
            properties: { name: { type: string }, count: { type: integer }, size: { type: integer } }
`;
  const handler = `export const upload = ({ body }) => ({ name: body.name, count: body.count, size: body.file?.length });\n`;

  it('accept the declared form media, coerced to the declared types, and refuse others', async () => {
    const dir = service(UPLOAD, handler).dir;
    const server = await startInProcess(dir);
    try {
      const form = await fetch(`${server.url}/upload`, { method: 'POST', body: new URLSearchParams({ name: 'a', count: '3' }) });
      expect(await form.json()).toEqual({ name: 'a', count: 3 });
      const data = new FormData();
      data.set('name', 'b');
      data.set('file', new Blob(['hello']), 'a.txt');
      const multipart = await fetch(`${server.url}/upload`, { method: 'POST', body: data });
      expect(await multipart.json()).toEqual({ name: 'b', size: 5 });
      const missing = await fetch(`${server.url}/upload`, { method: 'POST', body: new URLSearchParams({ count: 'x' }) });
      expect(missing.status).toBe(400);
      expect(((await missing.json()) as { error_description: string }).error_description).toContain('body.name');
      const json = await fetch(`${server.url}/upload`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"c"}' });
      expect(json.status).toBe(415);
    } finally {
      await server.close();
    }
  });
});

describe('JSON under a vendor media type', () => {
  const SPEC = `openapi: 3.0.3
info: { title: vendor, version: '1' }
paths:
  /notes:
    post:
      operationId: addNote
      requestBody:
        required: true
        content:
          application/vnd.notes+json:
            schema: { type: object, required: [text], properties: { text: { type: string } } }
      responses:
        '200':
          description: ok
          content: { application/json: { schema: { type: object, properties: { text: { type: string } } } } }
`;

  it('is parsed and validated as JSON; an undeclared media type is refused', async () => {
    const server = await startInProcess(service(SPEC, 'export const addNote = ({ body }) => ({ text: body.text });\n').dir);
    const post = (type: string, body: string) => fetch(`${server.url}/notes`, { method: 'POST', headers: { 'content-type': type }, body });
    try {
      const ok = await post('application/vnd.notes+json; charset=utf-8', '{"text":"hi"}');
      expect({ status: ok.status, body: await ok.json() }).toEqual({ status: 200, body: { text: 'hi' } });
      const bad = await post('application/vnd.notes+json', '{"text":3}');
      expect({ status: bad.status, error: ((await bad.json()) as { error: string }).error }).toEqual({ status: 400, error: 'INVALID_PARAMETER' });
      const broken = await post('application/vnd.notes+json', '{"text":');
      expect(broken.status).toBe(400);
      const other = await post('application/vnd.other+json', '{"text":"hi"}');
      expect(other.status).toBe(415);
    } finally {
      await server.close();
    }
  });
});

describe('broken x-bind-server bindings', () => {
  it('are all named in one start-up error', async () => {
    svc = writeService({
      'klue-config.yaml': 'name: points\napis: [apis/api.yaml]\n',
      'apis/api.yaml': `swagger: '2.0'
info: { title: broken, version: '1' }
paths:
  /a: { get: { x-bind-server: 'handlers/none#a', responses: { 200: { description: ok } } } }
  /b: { get: { x-bind-server: 'handlers/ops#missing', responses: { 200: { description: ok } } } }
`,
      'handlers/ops.mjs': 'export const b = () => ({});\n',
    });
    await expect(loadService(await loadConfig({ dir: svc.dir }))).rejects.toMatchObject({
      code: 'BINDING_INVALID',
      message: expect.stringMatching(/paths\.\/a\.get\.x-bind-server: module 'handlers\/none'.*paths\.\/b\.get\.x-bind-server: .*no export 'missing'.*\(2 x-bind-server bindings/),
    });
  });
});
