import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, startInProcess, type TestServer } from '../helpers/in-process.js';
import { writeService } from '../helpers/service-dir.js';

// Without an OpenTelemetry SDK, the trace a request came with is what its tasks and client calls
// carry on: the handler's context must hold it.
const SPEC = `swagger: "2.0"
info: {title: trace, version: "1"}
paths:
  /trace:
    get:
      x-bind-server: handler#seen
      responses:
        '200':
          description: the trace in the handler's context
          schema: {type: object, additionalProperties: {type: string}}
`;
const HANDLER = `import { currentContext } from '${join(process.cwd(), 'src', 'index.js')}';
export async function seen() {
  return currentContext()?.trace ?? {};
}
`;

const { dir, cleanup } = writeService({ 'klue-config.yaml': 'name: trace\n', 'apis/api.yaml': SPEC, 'handler.ts': HANDLER });
let server: TestServer | undefined;
beforeAll(async () => {
  server = await startInProcess(dir);
});
afterAll(async () => {
  await server?.close();
  cleanup();
});

describe("a request's incoming trace context", () => {
  it('is kept in the handler context, tracestate included', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const res = await getJson(`${server?.url}/trace`, { headers: { traceparent, tracestate: 'vendor=1' } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ traceparent, tracestate: 'vendor=1' });
  });

  it('is dropped when its traceparent is malformed', async () => {
    const res = await getJson(`${server?.url}/trace`, { headers: { traceparent: 'not-a-trace' } });
    expect(res.body).toEqual({});
  });
});
