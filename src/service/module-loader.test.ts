import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { importModule, setTypeScriptLoader } from './module-loader.js';

const dir = mkdtempSync(join(tmpdir(), 'klue-module-loader-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => setTypeScriptLoader(() => undefined));

function moduleFile(name: string, source: string): string {
  const file = join(dir, name);
  writeFileSync(file, source);
  return file;
}

describe('importModule', () => {
  it('installs the TypeScript loader once, on the first TypeScript module, and never for JavaScript', async () => {
    let installs = 0;
    setTypeScriptLoader(async () => {
      installs++;
      await new Promise((r) => setTimeout(r, 20));
    });
    const js = moduleFile('plain.mjs', 'export const kind = "js";\n');
    expect(await importModule(js)).toMatchObject({ kind: 'js' });
    expect(installs).toBe(0);
    // Vitest compiles TypeScript itself: here the installer only counts.
    const a = moduleFile('a.ts', 'export const kind: string = "a";\n');
    const b = moduleFile('b.mts', 'export const kind: string = "b";\n');
    const [ma, mb] = await Promise.all([importModule(a), importModule(b)]);
    expect([ma.kind, mb.kind]).toEqual(['a', 'b']);
    expect(installs).toBe(1);
  });

  it('fails the import when the loader cannot be installed, and tries again on the next one', async () => {
    let calls = 0;
    setTypeScriptLoader(async () => {
      calls++;
      await Promise.resolve();
      throw new Error('no tsx here');
    });
    const file = moduleFile('c.ts', 'export const kind = "c";\n');
    await expect(importModule(file)).rejects.toThrow('no tsx here');
    await expect(importModule(file)).rejects.toThrow('no tsx here');
    expect(calls).toBe(2);
  });
});
