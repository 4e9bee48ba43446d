import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';

/** The package.json that decides how Node loads `file`: the nearest one above it. */
function packageScope(file: string): string | undefined {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) return pkg;
    if (dirname(dir) === dir) return undefined;
  }
}

function declaresModule(pkg: string): boolean {
  try {
    return (JSON.parse(readFileSync(pkg, 'utf8')) as { type?: unknown }).type === 'module';
  } catch {
    return false;
  }
}

/**
 * What to change when `file` is loaded as CommonJS, which cannot import klue (an ES module):
 * undefined when it is loaded as an ES module. `.ts`/`.js` files are CommonJS unless the
 * nearest package.json says `"type": "module"` (`npm init` writes `"type": "commonjs"`).
 */
export function commonJsHint(file: string): string | undefined {
  const ext = extname(file);
  if (ext === '.mts' || ext === '.mjs') return undefined;
  if (ext === '.cts' || ext === '.cjs') return `${file} is CommonJS (${ext}), which cannot import klue: rename it to ${ext === '.cts' ? '.ts or .mts' : '.js or .mjs'} in a package with "type": "module"`;
  const pkg = packageScope(file);
  if (!pkg) return `${file} is loaded as CommonJS (no package.json above it), which cannot import klue: add a package.json with "type": "module" to the service folder`;
  if (declaresModule(pkg)) return undefined;
  return `${file} is loaded as CommonJS because ${pkg} does not say "type": "module", and CommonJS cannot import klue: set "type": "module" in ${pkg}`;
}
