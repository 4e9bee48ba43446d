import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AsyncConfig, KlueConfig } from '../../src/core/config/config-types.js';
import { loadConfig } from '../../src/core/config/load-config.js';

/**
 * A real loaded config for a throwaway service folder whose name (and so Redis key prefix)
 * is unique, so test files sharing one Redis never see each other's jobs.
 */
export async function testConfig(asyncSection: Partial<AsyncConfig> = {}, env = 'test'): Promise<KlueConfig> {
  const dir = mkdtempSync(join(tmpdir(), 'klue-async-'));
  mkdirSync(join(dir, 'apis'));
  writeFileSync(join(dir, 'apis', 'svc.yaml'), 'swagger: "2.0"\ninfo: { title: t, version: "1" }\npaths: {}\n');
  writeFileSync(join(dir, 'klue-config.yaml'), `name: t-${randomUUID()}\nwith_async: true\n`);
  return loadConfig({ dir, env, overrides: { async: { backoff: 10, ...asyncSection } } });
}

export { waitFor } from './wait.js';
