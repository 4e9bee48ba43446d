import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CATALOG, type ErrorCode } from '../../src/core/errors/catalog.js';
import type { KlueError } from '../../src/core/errors/klue-error.js';
import { addErrorReporter } from '../../src/core/errors/reporter.js';
import { getJson, startInProcess, type TestServer } from '../helpers/in-process.js';
import { writeService, type ServiceDir } from '../helpers/service-dir.js';

// A 5xx answer carries the catalog's description of its code, never the error's own message;
// that detail is in the log line and the reporter's error, under the answer's error_id.
const OK = `responses: {'200': {description: ok, schema: {type: object, required: [message], properties: {message: {type: string}}}}}`;
const SPEC = `swagger: "2.0"
info: {title: internals, version: "1"}
paths:
  /task-failed: {get: {x-bind-server: 'handler#taskFailed', ${OK}}}
  /bad-response: {get: {x-bind-server: 'handler#badResponse', ${OK}}}
  /config-invalid: {get: {x-bind-server: 'handler#configInvalid', ${OK}}}
  /refused: {get: {x-bind-server: 'handler#refused', ${OK}}}
`;
const HANDLER = `import { KlueError } from '${join(process.cwd(), 'src', 'core', 'errors', 'klue-error.js')}';
export function taskFailed() {
  throw new KlueError('TASK_FAILED', 'secret internals: connect ECONNREFUSED 10.0.0.7:5432 as user billing');
}
export function badResponse() {
  return { message: 42, internal_ledger_id: 'L-secret' };
}
export function configInvalid() {
  throw new KlueError('CONFIG_INVALID', '/srv/app/klue-config.yaml: payment_gateway_secret: must be string');
}
export function refused() {
  throw new KlueError('FORBIDDEN', 'account 7 may not read ledger L-1');
}
`;

let service: ServiceDir;
let server: TestServer;
const reported: KlueError[] = [];
let removeReporter: () => void;

beforeAll(async () => {
  service = writeService({ 'klue-config.yaml': 'name: internals\n', 'apis/api.yaml': SPEC, 'handler.ts': HANDLER });
  removeReporter = addErrorReporter((error) => {
    reported.push(error);
  });
  server = await startInProcess(service.dir);
});

afterAll(async () => {
  removeReporter?.();
  await server?.close();
  service?.cleanup();
});

describe('5xx answers carry no internals', () => {
  it.each([
    ['/task-failed', 'TASK_FAILED', /secret internals: connect ECONNREFUSED/],
    ['/bad-response', 'BAD_RESPONSE', /response 200: .*message/],
    ['/config-invalid', 'CONFIG_INVALID', /payment_gateway_secret/],
  ] as const)('GET %s answers %s with the catalog description; the detail is logged and reported under its error_id', async (path, code: ErrorCode, detail) => {
    const res = await getJson(`${server.url}${path}`);
    expect(res.status).toBe(500);
    expect(res.body).toEqual({
      status: 500,
      error: code,
      error_description: ERROR_CATALOG[code].message,
      error_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      user_message: 'Something went wrong. Please try again later.',
    });
    expect(JSON.stringify(res.body)).not.toMatch(detail);
    const line = server.logs.find((l) => l.error_id === res.body.error_id && l.level === 50);
    expect(line?.msg).toMatch(detail);
    expect(reported.find((e) => e.errorId === res.body.error_id)?.message).toMatch(detail);
  });

  it('a 4xx keeps its description: it names what is wrong in the request', async () => {
    const res = await getJson(`${server.url}/refused`);
    expect(res).toMatchObject({ status: 403, body: { error: 'FORBIDDEN', error_description: 'account 7 may not read ledger L-1' } });
  });
});
