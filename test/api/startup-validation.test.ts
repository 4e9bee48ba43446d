import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config/load-config.js';
import { KlueError } from '../../src/core/errors/klue-error.js';
import { loadService } from '../../src/service/load-service.js';
import { writeService } from '../helpers/service-dir.js';

function service(spec: string, files: Record<string, string> = {}, config = 'name: t\n'): string {
  return writeService({ 'klue-config.yaml': config, 'apis/api.yaml': spec, ...files }).dir;
}

async function startupError(dir: string): Promise<KlueError> {
  try {
    await loadService(await loadConfig({ dir }));
  } catch (err) {
    if (err instanceof KlueError) return err;
    throw err;
  }
  throw new Error('the service loaded but should not have');
}

const HANDLER = { 'h.ts': 'export function hello() { return { message: "hi" }; }\n' };
const swagger = (op: string) => `swagger: "2.0"\ninfo: {title: t, version: "1"}\npaths:\n  /hello:\n    get:\n${op}`;

describe('start-up validation', () => {
  it('names the file and JSON path of an invalid spec', async () => {
    const err = await startupError(service(swagger('      x-bind-server: h#hello\n'), HANDLER));
    expect(err.code).toBe('SPEC_INVALID');
    expect(err.message).toMatch(/apis\/api\.yaml: paths\.\/hello\.get: must have required property 'responses'/);
  });

  it('names the operation whose x-bind-server module does not exist', async () => {
    const err = await startupError(service(swagger("      x-bind-server: nope.handlers.hello\n      responses: {'200': {description: ok}}\n")));
    expect(err.code).toBe('BINDING_INVALID');
    expect(err.message).toMatch(/apis\/api\.yaml: paths\.\/hello\.get\.x-bind-server: module 'nope\/handlers'/);
  });

  it('names the missing export', async () => {
    const err = await startupError(service(swagger("      x-bind-server: h#goodbye\n      responses: {'200': {description: ok}}\n"), HANDLER));
    expect(err.code).toBe('BINDING_INVALID');
    expect(err.message).toMatch(/has no export 'goodbye'/);
  });

  it('names a dangling $ref', async () => {
    const err = await startupError(
      service(swagger("      x-bind-server: h#hello\n      responses: {'200': {description: ok, schema: {$ref: '#/definitions/Nope'}}}\n"), HANDLER),
    );
    expect(err.code).toBe('SPEC_INVALID');
    expect(err.message).toMatch(/apis\/api\.yaml: .*#\/definitions\/Nope/);
  });

  it('refuses an auth operation when no JWT key is configured', async () => {
    const err = await startupError(
      service(swagger("      x-bind-server: h#hello\n      x-decorate-server: pymacaron.auth.requires_auth\n      responses: {'200': {description: ok}}\n"), HANDLER),
    );
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toMatch(/paths\.\/hello\.get: requires auth but .*klue-config\.yaml sets no jwt_secret/);
  });

  it('loads an OpenAPI 3.1 spec with type arrays', async () => {
    const spec = `openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /items/{id}:
    get:
      x-bind-server: h#item
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer}}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema:
                type: object
                required: [id, note]
                properties:
                  id: {type: integer}
                  note: {type: [string, 'null']}
`;
    const dir = service(spec, { 'h.ts': 'export function item({ path }: { path: { id: number } }) { return { id: path.id, note: null }; }\n' });
    const svc = await loadService(await loadConfig({ dir }));
    expect(svc.operations.map((o) => `${o.method} ${o.path}`)).toEqual(['get /items/{id}']);
    expect(svc.apis[0]?.spec.major).toBe(3);
  });
});
