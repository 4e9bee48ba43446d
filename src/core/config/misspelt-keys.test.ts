import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { captureLogs, silenceLogs } from '../../../test/helpers/captured-logs.js';
import { helloworldDir } from '../../../test/helpers/service-dir.js';
import { closeKey, editDistance } from './key-suggestions.js';
import { loadConfig } from './load-config.js';
import { configSchema } from './config-schema.js';

function serviceDir(config: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'klue-cfg-'));
  mkdirSync(join(dir, 'apis'));
  writeFileSync(join(dir, 'apis', 'a.yaml'), 'swagger: "2.0"\ninfo: {title: t, version: "1"}\npaths: {}\n');
  writeFileSync(join(dir, 'klue-config.yaml'), config);
  return dir;
}

afterEach(() => {
  silenceLogs();
  delete process.env.PYM_JWT_SECRET;
});

describe('misspelt config keys', () => {
  it('warns at load of a top-level key close to a klue key, naming it', async () => {
    const lines = captureLogs();
    const config = await loadConfig({ dir: serviceDir('name: t\nwith_asycn: true\nmetricsPort: 9100\nbodylimit: 10\nmy_own_key: 1\n') });
    expect(config.with_async).toBe(false);
    const warned = lines.filter((l) => l.obj.did_you_mean !== undefined).map((l) => [l.obj.key, l.obj.did_you_mean]);
    expect(warned).toEqual([
      ['with_asycn', 'with_async'],
      ['metricsPort', 'metrics_port'],
      ['bodylimit', 'body_limit'],
    ]);
    expect(lines.find((l) => l.obj.key === 'with_asycn')?.msg).toMatch(/klue-config\.yaml: 'with_asycn' is not a klue key, so klue ignores it: did you mean 'with_async'\?/);
  });

  it("stays silent on the original's own keys (pymacaron-helloworld's pym-config.yaml)", async () => {
    process.env.PYM_JWT_SECRET = 'a-test-secret';
    const lines = captureLogs();
    await loadConfig({ dir: helloworldDir });
    expect(lines).toEqual([]);
  });

  it('counts a swap of two neighbours as one edit, and leaves far keys alone', () => {
    expect(editDistance('with_asycn', 'with_async')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    const known = Object.keys(configSchema.properties);
    for (const own of ['docker_repo', 'docker_bucket', 'aws_user', 'aws_keypair', 'aws_instance_type', 'aws_cert_arn', 'uuid_file_path', 'live_host', 'port', 'debug']) {
      expect(closeKey(own, known)).toBeUndefined();
    }
  });
});
