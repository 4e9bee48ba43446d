/**
 * `klue init`: the scaffold it writes passes its own test with its own vitest (klue/testing from
 * the built package, no flags), serves with `klue start` (a task run by the worker), and a
 * handler loaded as CommonJS gets a message naming the package.json to change. npm install is
 * replaced by links to this repo (klue itself, and the repo's vitest), as `file:` installs it.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnKlue } from '../helpers/klue-process.js';
import { repoRoot } from '../helpers/service-dir.js';

const run = promisify(execFile);
const root = mkdtempSync(join(tmpdir(), 'klue-init-'));
const shop = join(root, 'shop');
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** This process' environment without vitest's own variables, which would make the scaffold's vitest think it runs inside this one. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'NODE_OPTIONS' && k !== 'TEST'));
}

const klue = (args: string[], cwd: string) => run(process.execPath, [join(repoRoot, 'bin', 'klue.js'), ...args], { cwd, env: cleanEnv() });

describe('klue init', () => {
  it('writes a service that depends on this klue, with "type": "module", its test and its API types', async () => {
    const { stdout } = await klue(['init', 'shop'], root);
    expect(stdout).toMatch(/Next: cd shop && npm install && npx klue start/);
    const pkg = JSON.parse(readFileSync(join(shop, 'package.json'), 'utf8')) as Record<string, Record<string, string> | string>;
    expect(pkg).toMatchObject({ name: 'shop', type: 'module', engines: { node: '>=22' }, dependencies: { klue: `file:${repoRoot}` }, scripts: { test: 'vitest run' } });
    expect(pkg.devDependencies).toHaveProperty('vitest');
    for (const file of ['.gitignore', 'tsconfig.json', 'klue-config.yaml', 'apis/shop.yaml', 'handlers/orders.ts', 'tasks/receipts.ts', 'test/orders.test.ts', 'types/shop.ts']) {
      expect(existsSync(join(shop, file)), file).toBe(true);
    }
    expect(readFileSync(join(shop, 'apis', 'shop.yaml'), 'utf8')).toMatch(/^openapi: 3\.1\.0/);
    // Installed as `npm install` would from `file:` (a link), with the repo's vitest for its test.
    mkdirSync(join(shop, 'node_modules'));
    symlinkSync(repoRoot, join(shop, 'node_modules', 'klue'), 'dir');
    symlinkSync(join(repoRoot, 'node_modules', 'vitest'), join(shop, 'node_modules', 'vitest'), 'dir');
  });

  it('refuses a folder that is not empty, and a name npm would not take', async () => {
    await expect(klue(['init', 'shop'], root)).rejects.toMatchObject({ stderr: expect.stringMatching(/shop is not empty; klue init writes a new service into an empty or new folder/) });
    await expect(klue(['init', 'Bad Name'], root)).rejects.toMatchObject({ stderr: expect.stringMatching(/'Bad Name' cannot name a service/) });
  });

  it('passes its own test with plain vitest, klue linked (a folder) or copied (a tarball)', async () => {
    const vitest = join(repoRoot, 'node_modules', 'vitest', 'vitest.mjs');
    const test = async () => (await run(process.execPath, [vitest, 'run', '--no-color'], { cwd: shop, env: cleanEnv() })).stdout;
    // Linked, klue's files are outside node_modules: vitest compiles them, and the handlers with them.
    expect(await test()).toMatch(/Tests\s+3 passed/);
    // Copied into node_modules, as from a tarball: vitest leaves klue to Node, whose import() of
    // a handler needs the TypeScript loader that klue/testing installs.
    const installed = join(shop, 'node_modules', 'klue');
    rmSync(installed);
    mkdirSync(installed);
    for (const part of ['package.json', 'bin', 'dist', 'templates']) cpSync(join(repoRoot, part), join(installed, part), { recursive: true });
    symlinkSync(join(repoRoot, 'node_modules'), join(installed, 'node_modules'), 'dir');
    expect(await test()).toMatch(/Tests\s+3 passed/);
  });

  it('from an installed copy of klue, asks which klue to depend on; --klue paths become absolute file: specs', async () => {
    const installedBin = join(shop, 'node_modules', 'klue', 'bin', 'klue.js');
    const init = (args: string[]) => run(process.execPath, [installedBin, 'init', ...args], { cwd: root, env: cleanEnv() });
    await expect(init(['other'])).rejects.toMatchObject({ stderr: expect.stringMatching(/is an installed copy: give the new service's klue with --klue/) });
    await expect(init(['other', '--klue', './missing.tgz'])).rejects.toMatchObject({ stderr: expect.stringMatching(/--klue \.\/missing\.tgz: .*missing\.tgz does not exist/) });
    writeFileSync(join(root, 'klue-0.1.0.tgz'), '');
    mkdirSync(join(root, 'other', '.git'), { recursive: true });
    await init(['other', '--klue', './klue-0.1.0.tgz', '--name', 'other-shop']);
    const pkg = JSON.parse(readFileSync(join(root, 'other', 'package.json'), 'utf8')) as { name: string; dependencies: Record<string, string> };
    expect(pkg).toMatchObject({ name: 'other-shop', dependencies: { klue: `file:${join(root, 'klue-0.1.0.tgz')}` } });
    expect(existsSync(join(root, 'other', 'apis', 'other-shop.yaml'))).toBe(true);
  });

  it('serves with klue start: an order answers, and the worker sends its receipt to the user', async () => {
    const token = (await klue(['token', '--user', 'ann'], shop)).stdout.trim();
    const proc = spawnKlue(['start', '--port', '0'], { cwd: shop });
    try {
      const listening = await proc.waitForLine((l) => l.msg === 'shop listening', 30_000, 'shop listening');
      await proc.waitForLine((l) => typeof l.msg === 'string' && l.msg.startsWith('async: worker serving'), 30_000, 'the worker');
      const res = await fetch(`${listening.url as string}/orders`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ productId: 'tea', quantity: 2 }),
      });
      expect(res.status).toBe(201);
      const order = (await res.json()) as { id: string; user: string };
      expect(order.user).toBe('ann');
      await proc.waitForLine((l) => l.msg === 'receipt sent' && l.order === order.id && l.to === 'ann', 30_000, 'the receipt');
    } finally {
      expect(await proc.stop('SIGTERM')).toBe(0);
    }
  });

  it('tells what to change when the handlers are loaded as CommonJS', async () => {
    const pkgFile = join(shop, 'package.json');
    writeFileSync(pkgFile, readFileSync(pkgFile, 'utf8').replace('"type": "module"', '"type": "commonjs"'));
    const proc = spawnKlue(['start', '--port', '0', '--no-worker'], { cwd: shop });
    expect(await proc.exited).toBe(1);
    const text = proc.lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n');
    expect(text).toContain(`is loaded as CommonJS because ${pkgFile} does not say "type": "module", and CommonJS cannot import klue: set "type": "module" in ${pkgFile}`);
  });
});
