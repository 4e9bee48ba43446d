import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { JwtVerifier } from '../../src/auth/jwt.js';
import { loadConfig } from '../../src/core/config/load-config.js';
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

  it('runs a service written in JavaScript without the TypeScript loader, and installs it for the first TypeScript module', async () => {
    const source = mkdtempSync(join(tmpdir(), 'klue-js-src-'));
    mkdirSync(join(source, 'apis'));
    writeFileSync(join(source, 'klue-config.yaml'), 'name: jsonly\nwith_async: true\nasync:\n  modules: ["*.task.*"]\n');
    writeFileSync(
      join(source, 'apis', 'ping.yaml'),
      "swagger: '2.0'\ninfo: { title: js, version: '1' }\npaths:\n  /js:\n    get:\n      x-bind-server: handlers#js\n      responses:\n        '200': { description: ok }\n",
    );
    writeFileSync(join(source, 'handlers.mjs'), 'export async function js() { return {}; }\n');
    // tsx turns source maps on when it installs: each module notes whether they were on when it loaded.
    const noting = (name: string) => `import { writeFileSync } from 'node:fs';\nwriteFileSync(new URL('./${name}.loader', import.meta.url), String(process.sourceMapsEnabled));\n`;
    writeFileSync(join(source, 'js.task.mjs'), `${noting('js')}import { asynctask } from 'klue/async';\nexport const jsOnlyTask = asynctask(async function jsOnlyTask() {});\n`);
    const js = copyService(source);
    try {
      const { stdout } = await klue(['tasks', '--json'], js.dir);
      expect((JSON.parse(stdout) as { task: string }[]).map((t) => t.task)).toEqual(['jsOnlyTask']);
      expect(readFileSync(join(js.dir, 'js.loader'), 'utf8')).toBe('false');
      // A TypeScript module joins (imported first, by name): the loader is installed before it loads.
      writeFileSync(join(js.dir, 'a.task.ts'), `${noting('ts')}export const typed: number = 1;\n`);
      await klue(['tasks', '--json'], js.dir);
      expect(readFileSync(join(js.dir, 'ts.loader'), 'utf8')).toBe('true');
    } finally {
      js.cleanup();
      rmSync(source, { recursive: true, force: true });
    }
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

  it('klue start on a taken port exits 1 with one line naming the port, and stops the redis-server it started', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const failed = await klue(['start', '--port', String(port), '--host', '127.0.0.1'], svc.dir, { LOG_LEVEL: 'silent' }).then(
        () => undefined,
        (err: { code: number; stderr: string }) => err,
      );
      expect(failed?.code).toBe(1);
      // One line, no stack.
      expect(failed?.stderr.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^klue: PORT_IN_USE: port ${port} \\(127\\.0\\.0\\.1\\), .* already in use`))]);
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
