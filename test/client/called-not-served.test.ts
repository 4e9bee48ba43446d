import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, startInProcess, type TestServer } from '../helpers/in-process.js';
import { writeService, type ServiceDir } from '../helpers/service-dir.js';

// An API the service only calls (`clients:`) is another service's: not served, not documented
// here, not named among the APIs /version says it serves.
const SERVED = `swagger: "2.0"
info: {title: alpha, version: "1"}
paths:
  /hello:
    get:
      x-bind-server: handler#hello
      responses:
        '200': {description: hi, schema: {type: object}}
`;

let svc: ServiceDir;
let server: TestServer | undefined;
beforeAll(async () => {
  svc = writeService({
    'klue-config.yaml': 'name: alpha\nclients:\n  stub:\n    url: http://127.0.0.1:9/v2\n',
    'apis/alpha.yaml': SERVED,
    'apis/stub.yaml': readFileSync(join(import.meta.dirname, 'stub-api.yaml'), 'utf8'),
    'handler.ts': 'export async function hello() { return {}; }\n',
  });
  server = await startInProcess(svc.dir);
});
afterAll(async () => {
  await server?.close();
  svc?.cleanup();
});

describe('an API the service only calls', () => {
  it('is neither in /docs nor in /version', async () => {
    expect((await getJson(`${server?.url}/docs/alpha.json`)).status).toBe(200);
    expect((await getJson(`${server?.url}/docs/stub.json`)).status).toBe(404);
    const version = await getJson(`${server?.url}/version`);
    expect(version.body.apis).toEqual(['alpha']);
  });
});
