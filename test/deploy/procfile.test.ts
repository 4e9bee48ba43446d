import { afterAll, describe, expect, it } from 'vitest';
import { copyService, helloworldDir, type ServiceDir } from '../helpers/service-dir.js';
import { klueDeploy, readDeployFiles } from './generate.js';

const services: ServiceDir[] = [];
afterAll(() => services.forEach((s) => s.cleanup()));

async function processTypes(config: Record<string, unknown>): Promise<Record<string, string>> {
  const svc = copyService(helloworldDir, config);
  services.push(svc);
  expect((await klueDeploy(['init'], svc.dir)).code).toBe(0);
  const lines = readDeployFiles(svc.dir).Procfile!.trim().split('\n');
  return Object.fromEntries(lines.map((l) => /^(\w+):\s*(.+)$/.exec(l)!.slice(1, 3) as [string, string]));
}

describe('the generated Procfile', { timeout: 60_000 }, () => {
  it('with async: a web process serving HTTP only and a worker process type of its own', async () => {
    expect(await processTypes({})).toEqual({
      web: 'npx --no-install klue start --port $PORT --no-worker',
      worker: 'npx --no-install klue worker',
    });
  });

  it('without async: a web process only', async () => {
    expect(await processTypes({ with_async: false })).toEqual({ web: 'npx --no-install klue start --port $PORT' });
  });
});
