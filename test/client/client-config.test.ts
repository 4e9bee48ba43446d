import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeClientPools } from '../../src/client/pool.js';
import { loadConfig } from '../../src/core/config/load-config.js';
import { runInContext } from '../../src/core/context/context.js';
import { createRootLogger, rootLogger } from '../../src/core/log/logger.js';
import { loadService } from '../../src/service/load-service.js';
import { ApiPool } from '../../src/spec/api-pool.js';
import { writeService, type ServiceDir } from '../helpers/service-dir.js';
import { json, startStub, type StubServer } from './stub-server.js';

const spec = readFileSync(join(import.meta.dirname, 'stub-api.yaml'), 'utf8');
let stub: StubServer;
const dirs: ServiceDir[] = [];

beforeAll(async () => {
  createRootLogger({}, { level: 'silent' });
  stub = await startStub();
});

afterAll(async () => {
  await closeClientPools();
  await stub.close();
  for (const d of dirs) d.cleanup();
});

async function load(config: string, files: Record<string, string>) {
  const svc = writeService({ 'klue-config.yaml': config, ...files });
  dirs.push(svc);
  return loadService(await loadConfig({ dir: svc.dir }), { http: false });
}

describe('clients: in the config', () => {
  it('an API named there that is not under apis/ fails start-up, naming the key', async () => {
    await expect(load('name: x\nclients:\n  nope:\n    url: http://127.0.0.1:9\n', { 'apis/other.yaml': spec })).rejects.toThrow(
      /klue-config\.yaml: clients\.nope: no API named 'nope' under apis\/ \(other\)/,
    );
  });

  it('a url that is not http(s) fails start-up', async () => {
    await expect(load('name: x\nclients:\n  other:\n    url: ftp://h\n', { 'apis/other.yaml': spec })).rejects.toThrow(/clients\.other\.url: must match pattern/);
  });

  it("the API's own authorization header replaces the user's token; send_token: never sends none", async () => {
    await load(
      `name: x\nclients:\n  keyed:\n    url: ${stub.url}\n    headers: { Authorization: 'Bearer api-key-1', X-Tenant: t1 }\n  tokenless:\n    url: ${stub.url}\n    send_token: never\n`,
      { 'apis/keyed.yaml': spec, 'apis/tokenless.yaml': spec },
    );
    stub.handle = (req, res) => json(res, 200, req.headers);
    const asAnn = <T>(fn: () => Promise<T>) => runInContext({ ctx: { user: { sub: 'ann' }, token: 'ann-token' }, log: rootLogger() }, fn);
    const keyed = (await asAnn(() => ApiPool.keyed!.client.whoami!())) as Record<string, string>;
    expect(keyed).toMatchObject({ authorization: 'Bearer api-key-1', 'x-tenant': 't1' });
    const tokenless = (await asAnn(() => ApiPool.tokenless!.client.whoami!())) as Record<string, string>;
    expect(tokenless.authorization).toBeUndefined();
  });
});
