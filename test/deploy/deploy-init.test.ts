import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyService, helloworldDir } from '../helpers/service-dir.js';
import { DEPLOY_FILES, klueDeploy, readDeployFiles } from './generate.js';

const services: { cleanup(): void }[] = [];
afterAll(() => services.forEach((s) => s.cleanup()));
function service(config: Record<string, unknown> = {}) {
  const svc = copyService(helloworldDir, config);
  services.push(svc);
  return svc;
}

// Each CLI run loads the whole klue CLI (several seconds on a busy machine).
describe('klue deploy init', { timeout: 60_000 }, () => {
  it('writes the four files, without the production secrets being set, and says what it wrote', async () => {
    const svc = service();
    const { code, stdout } = await klueDeploy(['init'], svc.dir);
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toEqual(DEPLOY_FILES.map((f) => `wrote ${f}`));
    expect(Object.keys(readDeployFiles(svc.dir)).sort()).toEqual([...DEPLOY_FILES].sort());
  });

  it('never writes a secret value into the files, only the variable names', async () => {
    const svc = service();
    const value = 'a-very-secret-jwt-key-1234567890';
    expect((await klueDeploy(['init'], svc.dir, { PYM_JWT_SECRET: value })).code).toBe(0);
    const text = Object.values(readDeployFiles(svc.dir)).join('\n');
    expect(text).toContain('PYM_JWT_SECRET');
    expect(text).not.toContain(value);
    expect(text).not.toContain('placeholder');
  });

  it('refuses to overwrite, names the files and writes nothing; --force overwrites', async () => {
    const svc = service();
    expect((await klueDeploy(['init'], svc.dir)).code).toBe(0);
    writeFileSync(join(svc.dir, 'Dockerfile'), 'FROM scratch\n');
    rmSync(join(svc.dir, 'Procfile'));

    const refused = await klueDeploy(['init'], svc.dir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/klue: Dockerfile, \.dockerignore, docker-compose\.yml already exist; nothing was written \(use --force to overwrite\)/);
    expect(readFileSync(join(svc.dir, 'Dockerfile'), 'utf8')).toBe('FROM scratch\n');
    expect(readDeployFiles(svc.dir).Procfile).toBeUndefined();

    const forced = await klueDeploy(['init', '--force'], svc.dir);
    expect(forced.code).toBe(0);
    expect(readFileSync(join(svc.dir, 'Dockerfile'), 'utf8')).toMatch(/^FROM node:22-bookworm-slim AS deps$/m);
    expect(readDeployFiles(svc.dir).Procfile).toMatch(/^web: /);
  });

  it('names a single existing file', async () => {
    const svc = service();
    writeFileSync(join(svc.dir, 'Procfile'), 'web: mine\n');
    const refused = await klueDeploy(['init'], svc.dir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('klue: Procfile already exists');
    expect(readDeployFiles(svc.dir)).toEqual({ Procfile: 'web: mine\n' });
  });

  it('warns about what would break the image: no lockfile, klue not a dependency, a secret written in the config', async () => {
    const svc = service({ jwt_secret: 'written-into-the-config' });
    const { code, stderr } = await klueDeploy(['init'], svc.dir);
    expect(code).toBe(0);
    expect(stderr).toContain('klue: warning: no package-lock.json');
    expect(stderr).toContain('klue: warning: package.json does not list klue in dependencies');
    expect(stderr).toContain('klue: warning: jwt_secret is written in the config itself');
  });

  it('rejects a bad --port or --node, and reports a broken config like klue start does', async () => {
    const svc = service();
    expect(await klueDeploy(['init', '--port', '0'], svc.dir)).toMatchObject({ code: 1, stderr: expect.stringContaining('expected a port number') });
    expect(await klueDeploy(['init', '--node', 'latest'], svc.dir)).toMatchObject({ code: 1, stderr: expect.stringContaining("expected a Node.js version") });
    const bad = service({ async: { concurrency: 'many' } });
    expect(await klueDeploy(['init'], bad.dir)).toMatchObject({ code: 1, stderr: expect.stringMatching(/CONFIG_INVALID: .*async\.concurrency/) });
    expect(readDeployFiles(svc.dir)).toEqual({});
  });
});
