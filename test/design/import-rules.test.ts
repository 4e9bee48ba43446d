/**
 * The import rules of docs/design.md, checked on the sources: every relative import of every
 * non-test file under src/ (static `import`/`export ... from`, `import type`, and `import()` or
 * `typeof import()` with a string literal) must go to the same or a lower layer, follow the
 * narrower rules below, and the folders (a file's folder is its directory) must not import each
 * other in a cycle.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const repo = join(import.meta.dirname, '..', '..');
const src = join(repo, 'src');

/** Lowest first; an import may go to its own layer or a lower one. Named by the first folder under src/. */
const LAYERS: readonly (readonly string[])[] = [['util'], ['core'], ['spec', 'auth', 'telemetry'], ['client'], ['service'], ['tasks'], ['http'], ['process'], ['deploy', 'cli', 'testing']];

/** Folders that may import less than their layer allows: the folder (or its subfolders) → what it may import. */
const ONLY: Readonly<Record<string, readonly string[]>> = {
  util: ['util'],
  spec: ['util', 'core', 'spec'],
  auth: ['util', 'core', 'auth'],
  telemetry: ['util', 'core', 'telemetry'],
  client: ['util', 'core', 'spec', 'telemetry', 'client'],
  service: ['util', 'core', 'spec', 'auth', 'client', 'service'],
  tasks: ['util', 'core', 'spec', 'telemetry', 'tasks'],
};

/** Inside tasks/: which of its parts each part may import (`tasks` is its root folder). */
const TASK_PARTS: Readonly<Record<string, readonly string[]>> = {
  tasks: ['tasks', 'tasks/envelope'],
  'tasks/envelope': ['tasks', 'tasks/envelope'],
  'tasks/transport': ['tasks', 'tasks/envelope', 'tasks/transport'],
  'tasks/run': ['tasks', 'tasks/envelope', 'tasks/transport', 'tasks/run'],
  'tasks/caller': ['tasks', 'tasks/envelope', 'tasks/transport', 'tasks/caller'],
};

/**
 * The one sanctioned upward import: `async.mode: inline` loads the in-process runner only when
 * it is used, so the runtime (and every caller) does not depend on the run side. Only as a
 * dynamic import(); it is left out of the folder graph.
 */
const LAZY_ALLOWED = [{ from: 'tasks/transport/runtime.ts', to: 'tasks/run/inline-runner.ts' }];

interface Import {
  from: string;
  to: string;
  dynamic: boolean;
  line: number;
}

/** The package's entry points (package.json `exports`): they gather the API from every layer, so no rule applies to them. */
function entryFiles(): Set<string> {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { exports: Record<string, string | { default?: string }> };
  const entries = new Set<string>();
  for (const target of Object.values(pkg.exports)) {
    const file = typeof target === 'string' ? target : target.default;
    const m = file && /^\.\/dist\/(.+)\.js$/.exec(file);
    if (m?.[1]) entries.add(`${m[1]}.ts`);
  }
  return entries;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

const toPosix = (path: string) => path.split(sep).join('/');

/** The relative imports of one file, resolved to paths under src/ (`.js` specifiers name `.ts` files). */
function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const from = toPosix(relative(src, file));
  const out: Import[] = [];
  const add = (spec: ts.Node | undefined, dynamic: boolean) => {
    if (!spec || !ts.isStringLiteralLike(spec) || !spec.text.startsWith('.')) return;
    const to = posix.normalize(posix.join(posix.dirname(from), spec.text)).replace(/\.js$/, '.ts');
    out.push({ from, to, dynamic, line: source.getLineAndCharacterOfPosition(spec.getStart(source)).line + 1 });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node.moduleSpecifier, false);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node.arguments[0], true);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal, false);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

const folderOf = (file: string) => posix.dirname(file);
const areaOf = (file: string) => (file.includes('/') ? (file.split('/')[0] as string) : '');
const taskPartOf = (folder: string) => folder.split('/').slice(0, 2).join('/');
function layerOf(area: string): number | undefined {
  const i = LAYERS.findIndex((names) => names.includes(area));
  return i < 0 ? undefined : i;
}

/** Every import that breaks a rule, one line each. */
function ruleBreaks(imports: Import[], files: string[], entries: Set<string>): string[] {
  const out: string[] = [];
  for (const file of files) if (layerOf(areaOf(file)) === undefined) out.push(`${file}: in no layer (add its folder to LAYERS)`);
  for (const imp of imports) {
    const at = `${imp.from}:${imp.line} imports ${imp.to}`;
    if (entries.has(imp.to)) out.push(`${at}: a package entry point; import the module that defines it`);
    if (LAZY_ALLOWED.some((a) => a.from === imp.from && a.to === imp.to)) {
      if (!imp.dynamic) out.push(`${at}: allowed only as a dynamic import()`);
      continue;
    }
    const [fromArea, toArea] = [areaOf(imp.from), areaOf(imp.to)];
    const [fromLayer, toLayer] = [layerOf(fromArea), layerOf(toArea)];
    if (fromLayer !== undefined && toLayer !== undefined && toLayer > fromLayer) out.push(`${at}: ${fromArea} may not import the higher layer ${toArea}`);
    const only = ONLY[fromArea];
    if (only && !only.includes(toArea)) out.push(`${at}: ${fromArea} may import only ${only.join(', ')}`);
    if (fromArea === 'tasks' && toArea === 'tasks') {
      const [fromPart, toPart] = [taskPartOf(folderOf(imp.from)), taskPartOf(folderOf(imp.to))];
      const parts = TASK_PARTS[fromPart];
      if (!parts) out.push(`${imp.from}: in no part of tasks/ (add its folder to TASK_PARTS)`);
      else if (!parts.includes(toPart)) out.push(`${at}: ${fromPart} may import only ${parts.join(', ')}`);
    }
  }
  return out;
}

/** The strongly connected components of the folder graph that hold more than one folder (Tarjan). */
function folderCycles(imports: Pick<Import, 'from' | 'to'>[]): string[][] {
  const graph = new Map<string, Set<string>>();
  for (const { from, to } of imports) {
    const [a, b] = [folderOf(from), folderOf(to)];
    if (!graph.has(b)) graph.set(b, new Set());
    if (a !== b) graph.set(a, (graph.get(a) ?? new Set()).add(b));
  }
  let next = 0;
  const index = new Map<string, number>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const connect = (v: string): number => {
    const own = next++;
    let lowest = own;
    index.set(v, own);
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      const seen = index.get(w);
      if (seen === undefined) lowest = Math.min(lowest, connect(w));
      else if (stack.includes(w)) lowest = Math.min(lowest, seen);
    }
    if (lowest === own) {
      const component = stack.splice(stack.indexOf(v));
      if (component.length > 1) cycles.push(component.sort());
    }
    return lowest;
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) connect(v);
  return cycles;
}

describe('import rules (docs/design.md)', () => {
  const entries = entryFiles();
  const files = sourceFiles(src).map((f) => toPosix(relative(src, f))).filter((f) => !entries.has(f));
  const imports = files.flatMap((f) => importsOf(join(src, f)));

  it('finds the sources and their imports', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(imports.length).toBeGreaterThan(200);
  });

  it('imports go to the same or a lower layer, and tasks/ parts import only what they may', () => {
    expect(ruleBreaks(imports, files, entries)).toEqual([]);
  });

  it('folders do not import each other in a cycle', () => {
    const graphEdges = imports.filter((imp) => !LAZY_ALLOWED.some((a) => a.from === imp.from && a.to === imp.to));
    expect(folderCycles(graphEdges).map((c) => c.join(' <-> '))).toEqual([]);
  });
});
