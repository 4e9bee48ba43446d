import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { testConfig } from '../../test/helpers/config.js';
import { KlueError } from '../core/errors/klue-error.js';
import { devSecretFile, resolveSecret } from './secret.js';

describe('async secret', () => {
  it('uses async.secret when set', async () => {
    const config = await testConfig({ secret: 'configured-secret-123456' });
    expect(resolveSecret(config)).toBe('configured-secret-123456');
  });

  it('generates a dev key once, private to the user, and reuses it', async () => {
    const config = await testConfig();
    const first = resolveSecret(config);
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(devSecretFile(config.dir)).mode & 0o777).toBe(0o600);
    expect(resolveSecret(config)).toBe(first);
  });

  it('is required in production', async () => {
    const config = await testConfig({}, 'prod');
    let caught: unknown;
    try {
      resolveSecret(config);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(KlueError);
    expect((caught as KlueError).code).toBe('CONFIG_INVALID');
    expect((caught as KlueError).message).toMatch(/klue-config\.yaml: async\.secret: required in production/);
  });
});
