import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const helloworldDir = join(repoRoot, 'examples', 'helloworld');

export interface ServiceDir {
  dir: string;
  cleanup(): void;
}

/**
 * Copies a service folder to a private temp dir with `config` merged over its config file
 * (written as klue-config.yaml), so tests can run in parallel without sharing files or keys.
 * `node_modules/klue` links back to this repo so the service's `import 'klue'` resolves as a user's would
 * (and `node_modules/ioredis` to the repo's, for fixtures whose tasks write to Redis).
 */
export function copyService(source: string, config: Record<string, unknown> = {}): ServiceDir {
  const dir = mkdtempSync(join(tmpdir(), 'klue-svc-'));
  cpSync(source, dir, { recursive: true, filter: (src) => !src.includes('/.klue') && !src.includes('/node_modules') });
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  symlinkSync(repoRoot, join(dir, 'node_modules', 'klue'), 'dir');
  // Test fixtures' tasks keep their ledgers in Redis, as a user's service would with its own ioredis.
  symlinkSync(join(repoRoot, 'node_modules', 'ioredis'), join(dir, 'node_modules', 'ioredis'), 'dir');
  // In the repo the examples inherit the root package.json; a user's project has its own.
  if (!existsSync(join(dir, 'package.json'))) {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'test-service', version: '1.0.0', private: true, type: 'module' }));
  }
  let base: Record<string, unknown> = {};
  for (const name of ['klue-config.yaml', 'pym-config.yaml']) {
    try {
      base = parse(readFileSync(join(dir, name), 'utf8')) as Record<string, unknown>;
      rmSync(join(dir, name));
      break;
    } catch {
      // try the next name
    }
  }
  writeFileSync(join(dir, 'klue-config.yaml'), stringify({ ...base, ...config }));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A service written from `files` (path inside the service folder → text) into a private temp dir. */
export function writeService(files: Record<string, string>): ServiceDir {
  const dir = mkdtempSync(join(tmpdir(), 'klue-svc-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
