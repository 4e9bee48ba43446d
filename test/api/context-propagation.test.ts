import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { contextStorage } from '../../src/core/context/context.js';
import { getJson, startInProcess, type TestServer } from '../helpers/in-process.js';
import { writeService } from '../helpers/service-dir.js';

// A handler that looks at its context after awaits of every kind, from a bound timer callback and
// from an unbound one, while many requests interleave.
const SPEC = `swagger: "2.0"
info: {title: ctx, version: "1"}
paths:
  /whoami:
    get:
      x-bind-server: handler#whoami
      responses:
        '200':
          description: what the handler saw
          schema:
            type: object
            required: [seen, bound]
            properties:
              seen: {type: array, items: {type: string}}
              bound: {type: string}
              unbound: {type: string}
`;
const HANDLER = `import { setTimeout as sleep } from 'node:timers/promises';
import { bindContext, currentRequest } from '${join(process.cwd(), 'src', 'index.js')}';
const id = () => currentRequest()?.id ?? '(none)';
export async function whoami() {
  const seen = [id()];
  await sleep(Math.random() * 5);
  seen.push(id());
  await Promise.all([sleep(1), Promise.resolve()]);
  seen.push(await Promise.resolve().then(id));
  const bound = await new Promise((resolve) => setTimeout(bindContext(() => resolve(id())), 2));
  const unbound = await new Promise((resolve) => setTimeout(() => resolve(id()), 1));
  return { seen, bound, unbound };
}
`;

const { dir, cleanup } = writeService({ 'klue-config.yaml': 'name: ctx\n', 'apis/api.yaml': SPEC, 'handler.ts': HANDLER });
afterAll(cleanup);

for (const mode of ['promises', 'async_hooks'] as const) {
  describe(`context_propagation: ${mode}`, () => {
    let server: TestServer | undefined;
    afterAll(async () => {
      await server?.close();
    });

    it('gives 60 interleaved requests each its own context after every await', async () => {
      server = await startInProcess(dir, { context_propagation: mode });
      expect(contextStorage.propagation).toBe(mode);
      const ids = Array.from({ length: 60 }, (_, i) => `req-${mode}-${i}`);
      const answers = await Promise.all(ids.map((id) => getJson(`${server?.url}/whoami`, { headers: { 'x-request-id': id } })));
      answers.forEach((res, i) => {
        const id = ids[i];
        expect(res.status).toBe(200);
        expect(res.body.seen).toEqual([id, id, id]);
        expect(res.body.bound).toBe(id);
        // Promise hooks do not follow a plain timer callback: it sees no request, never another one.
        expect(res.body.unbound).toBe(mode === 'async_hooks' ? id : '(none)');
      });
    });
  });
}
