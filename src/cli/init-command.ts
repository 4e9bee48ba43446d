import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface InitOptions {
  /** The package name and API name. Default: the folder's name. */
  name?: string;
  /** How the new service depends on klue: an npm spec, or a path to klue's folder or a packed tarball. Default: this klue's folder, when it is a checkout. */
  klue?: string;
}

/** Why `klue init` wrote nothing: a usage mistake, told in one line. */
export class InitRefused extends Error {
  override name = 'InitRefused';
}

/** klue's package folder (holding bin/, dist/ and templates/). */
const klueRoot = fileURLToPath(new URL('../../', import.meta.url));
const templateDir = join(klueRoot, 'templates', 'service');

/** Template files whose names npm would drop or rename when klue is packed, by the name they get. */
const RENAMED: Readonly<Record<string, string>> = { gitignore: '.gitignore' };

/** npm's rule for a package name, which is also the API's file name and `ApiPool` key. */
const NAME = /^[a-z0-9][a-z0-9._-]*$/;

/** A path (to klue's folder or a tarball) becomes an absolute `file:` spec; anything else is an npm spec as given. */
export function klueDependency(spec: string | undefined, cwd: string): string {
  if (spec === undefined) {
    // A checkout of klue (its sources beside dist/) builds itself when npm installs it from its
    // folder; an installed copy has no sources to build from, and klue is not on a registry yet.
    if (!existsSync(join(klueRoot, 'tsconfig.build.json'))) {
      throw new InitRefused(`this klue (${klueRoot}) is an installed copy: give the new service's klue with --klue <klue's folder or a tarball from \`npm pack\`>`);
    }
    return `file:${klueRoot.replace(/\/$/, '')}`;
  }
  const path = spec.startsWith('file:') ? spec.slice('file:'.length) : spec;
  const isPath = spec.startsWith('file:') || isAbsolute(spec) || spec.startsWith('.') || /\.t(ar\.)?gz$/.test(spec);
  if (!isPath) return spec;
  const absolute = resolve(cwd, path);
  if (!existsSync(absolute)) throw new InitRefused(`--klue ${spec}: ${absolute} does not exist (give klue's folder, a tarball from \`npm pack\`, or an npm spec)`);
  return `file:${absolute}`;
}

function templateFiles(dir: string, under = ''): string[] {
  return readdirSync(join(dir, under), { withFileTypes: true }).flatMap((e) => {
    const path = under ? `${under}/${e.name}` : e.name;
    return e.isDirectory() ? templateFiles(dir, path) : [path];
  });
}

/**
 * Writes a new service into `dir` (which must be empty or missing) from templates/service:
 * every `{{key}}` in a file's name or text is replaced by its value. Then writes its API
 * types, which the handlers import, as `klue types` would.
 */
export async function scaffoldService(dir: string, options: InitOptions = {}): Promise<string[]> {
  const target = resolve(dir);
  const name = options.name ?? basename(target);
  if (!NAME.test(name)) {
    throw new InitRefused(`'${name}' cannot name a service: use lower-case letters, digits, '-', '_' and '.' (or give --name)`);
  }
  // A fresh `git init` is empty enough.
  if (existsSync(target) && readdirSync(target).some((f) => f !== '.git')) {
    throw new InitRefused(`${target} is not empty; klue init writes a new service into an empty or new folder`);
  }
  const values: Record<string, string> = {
    name,
    // In package.json the spec is inside a JSON string.
    klue: JSON.stringify(klueDependency(options.klue, process.cwd())).slice(1, -1),
    envName: name.toUpperCase().replace(/[^A-Z0-9]/g, '_'),
    devSecret: randomBytes(12).toString('hex'),
  };
  const fill = (text: string) => text.replace(/\{\{(\w+)\}\}/g, (all, key: string) => values[key] ?? all);
  const written: string[] = [];
  for (const file of templateFiles(templateDir)) {
    const out = join(target, fill(RENAMED[file] ?? file));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, fill(readFileSync(join(templateDir, file), 'utf8')));
    written.push(out);
  }
  // Loaded only here: the types generator is the heaviest part of `klue types`.
  const [{ loadConfig }, { writeApiTypes }] = await Promise.all([import('../core/config/load-config.js'), import('../service/types-gen.js')]);
  written.push(...(await writeApiTypes(await loadConfig({ dir: target }))));
  return written;
}

/** `klue init [dir]`: a new service, ready for `npm install && npx klue start` and `npm test`. */
export async function initCommand(dir: string | undefined, opts: InitOptions): Promise<void> {
  const target = resolve(dir ?? '.');
  let written: string[];
  try {
    written = await scaffoldService(target, opts);
  } catch (err) {
    if (!(err instanceof InitRefused)) throw err;
    process.stderr.write(`klue: ${err.message}\n`);
    process.exitCode = 1;
    return;
  }
  for (const file of written) process.stdout.write(`wrote ${relative(process.cwd(), file)}\n`);
  const cd = target === process.cwd() ? '' : `cd ${relative(process.cwd(), target)} && `;
  process.stdout.write(`\nNext: ${cd}npm install && npx klue start     (then: npm test)\n`);
}
