import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config/load-config.js';
import { loadService } from '../../src/service/load-service.js';
import { writeApiTypes } from '../../src/service/types-gen.js';
import { repoRoot, writeService } from '../helpers/service-dir.js';

// `klue types` for an API the service calls: `ApiPool.<api>.client` typed per operation.
const svc = writeService({
  'klue-config.yaml': 'name: caller\nclients:\n  stub:\n    url: http://127.0.0.1:9\n',
  'apis/stub.yaml': readFileSync(join(import.meta.dirname, 'stub-api.yaml'), 'utf8'),
});
afterAll(() => svc.cleanup());

/** Type-checks `source` beside the generated types, 'klue' being this repo's sources. */
function typeErrors(source: string): string[] {
  const file = join(svc.dir, 'check.ts');
  writeFileSync(file, source);
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    skipLibCheck: true,
    types: ['node'],
    typeRoots: [join(repoRoot, 'node_modules', '@types')],
    baseUrl: repoRoot,
    paths: { klue: ['./src/index.ts'] },
  });
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe('klue types for a called API', () => {
  it('types each client method: its input parts, the body-only form, and its result', async () => {
    const config = await loadConfig({ dir: svc.dir });
    mkdirSync(join(svc.dir, 'types'), { recursive: true });
    writeFileSync(join(svc.dir, 'package.json'), '{"type":"module"}');
    expect(await writeApiTypes(config)).toEqual([join(svc.dir, 'types', 'stub.ts')]);
    // the same service loads (no x-bind-server needed) with those names
    await loadService(config, { http: false });
    const errors = typeErrors(`import { ApiPool } from 'klue';
import type {} from './types/stub.js';
export async function ok(): Promise<string> {
  const item = await ApiPool.stub.client.getItem({ path: { id: 'x' }, query: { tag: ['a'], limit: 2 } });
  const made = await ApiPool.stub.client.createItem({ id: 'y', tags: [] }, { timeout: 100 });
  await ApiPool.stub.client.listItems();
  return item.id + made.tags.join();
}
export async function bad(): Promise<void> {
  // @ts-expect-error path is required
  await ApiPool.stub.client.getItem({ query: {} });
  // @ts-expect-error limit is a number
  await ApiPool.stub.client.getItem({ path: { id: 'x' }, query: { limit: 'two' } });
  // @ts-expect-error a body-only operation takes the body itself
  await ApiPool.stub.client.createItem({ body: { id: 'y', tags: [] } });
}
`);
    expect(errors).toEqual([]);
  });
});
