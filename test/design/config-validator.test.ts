import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configValidatorSource, GENERATED_FILE } from '../../scripts/config-validator.js';
import { loadConfig } from '../../src/core/config/load-config.js';

describe('the config validator compiled ahead of time', () => {
  it('is what Ajv compiles from config-schema.ts today (else: npm run gen:config-validator)', () => {
    expect(readFileSync(GENERATED_FILE, 'utf8')).toBe(configValidatorSource());
  });

  it('refuses a bad config with every problem named, as the runtime-compiled one did', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'klue-cfgv-'));
    writeFileSync(join(dir, 'klue-config.yaml'), 'name: svc\nwith_async: maybe\nasync:\n  concurrency: -3\n');
    await expect(loadConfig({ dir })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/with_async: must be boolean.*async\.concurrency: must be >= 1/) as unknown,
    });
  });
});
