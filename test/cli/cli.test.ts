import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { JwtVerifier } from '../../src/auth/jwt.js';
import { loadConfig } from '../../src/config/load-config.js';
import { copyService, helloworldDir, repoRoot } from '../helpers/service-dir.js';

const run = promisify(execFile);
const klue = (args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) =>
  run(process.execPath, [join(repoRoot, 'bin', 'klue.js'), ...args], { cwd, env: { ...process.env, PYM_JWT_SECRET: 'cli-test-secret', ...env } });

const svc = copyService(helloworldDir);
afterAll(() => svc.cleanup());

describe('the klue CLI', () => {
  it('klue token prints a token the service accepts', async () => {
    const { stdout } = await klue(['token', '--user', 'test-jwt-token', '--expires', '5m'], svc.dir);
    process.env.PYM_JWT_SECRET = 'cli-test-secret';
    const config = await loadConfig({ dir: svc.dir });
    const claims = await new JwtVerifier(config.jwt).verify(stdout.trim());
    expect(claims.sub).toBe('test-jwt-token');
    expect(claims.exp! - claims.iat!).toBe(300);
  });

  it('klue types writes the same types as the ones committed with the example', async () => {
    rmSync(join(svc.dir, 'types'), { recursive: true, force: true });
    const { stdout } = await klue(['types'], svc.dir);
    expect(stdout).toMatch(/wrote .*types\/helloworld\.ts/);
    expect(readFileSync(join(svc.dir, 'types', 'helloworld.ts'), 'utf8')).toBe(readFileSync(join(helloworldDir, 'types', 'helloworld.ts'), 'utf8'));
    expect((await klue(['types'], svc.dir)).stdout).toMatch(/up to date/);
  });

  it('klue start fails at once, naming the file and key, when the config is wrong', async () => {
    const bad = copyService(helloworldDir, { async: { concurrency: 'many' } });
    try {
      await expect(klue(['start', '--port', '0'], bad.dir)).rejects.toMatchObject({
        code: 1,
        stderr: expect.stringMatching(/klue: CONFIG_INVALID: .*klue-config\.yaml: async\.concurrency: must be integer/),
      });
    } finally {
      bad.cleanup();
    }
  });

  it('klue start fails at once when an env secret is missing', async () => {
    await expect(klue(['start', '--port', '0'], svc.dir, { PYM_JWT_SECRET: '' })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/ENV_SECRET_MISSING: .*jwt_secret: environment variable PYM_JWT_SECRET is not set/),
    });
  });

  it('klue start on a taken port exits 1 and stops the redis-server it started', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      await expect(klue(['start', '--port', String(port), '--host', '127.0.0.1'], svc.dir)).rejects.toMatchObject({
        code: 1,
        stderr: expect.stringMatching(/EADDRINUSE/),
      });
      expect(existsSync(join(svc.dir, '.klue', 'redis.sock'))).toBe(false);
    } finally {
      taken.close();
    }
  });

  it('klue start fails at once when a binding is broken', async () => {
    const broken = copyService(helloworldDir);
    try {
      writeFileSync(join(broken.dir, 'helloworld', 'api.ts'), 'export const nothing = 1;\n');
      await expect(klue(['start', '--port', '0'], broken.dir)).rejects.toMatchObject({
        code: 1,
        stderr: expect.stringMatching(/BINDING_INVALID: apis\/helloworld\.yaml: paths\.\/hello\.get\.x-bind-server: module .* has no export 'do_hello'/),
      });
      // validated before anything starts: no embedded redis-server was left behind
      expect(existsSync(join(broken.dir, '.klue', 'redis.sock'))).toBe(false);
    } finally {
      broken.cleanup();
    }
  });
});
