/**
 * What an entry point loads when it is imported: the packages reached from it by the imports
 * that stay in the compiled JavaScript (type-only imports are dropped, `import()` is not
 * followed). Handler code imports 'klue', so 'klue' must not load the HTTP server, the queue
 * client, the spec parser or the JWT library; `klue token` must not load the server either.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const src = join(import.meta.dirname, '..', '..', 'src');

/** The specifiers a file's compiled JavaScript imports when it is loaded. */
function staticImports(file: string): string[] {
  const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    fileName: file,
  });
  const out = ts.createSourceFile(file, outputText, ts.ScriptTarget.Latest, false, ts.ScriptKind.JS);
  return out.statements.flatMap((s) =>
    (ts.isImportDeclaration(s) || ts.isExportDeclaration(s)) && s.moduleSpecifier && ts.isStringLiteral(s.moduleSpecifier) ? [s.moduleSpecifier.text] : [],
  );
}

/** The packages (not node: builtins) loaded by importing `entries`, each with the klue file that imports it. */
function packagesLoadedBy(...entries: string[]): Map<string, string> {
  const packages = new Map<string, string>();
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of staticImports(file)) {
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else if (!spec.startsWith('node:')) {
        const name = spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');
        if (!packages.has(name)) packages.set(name, relative(src, file));
      }
    }
  };
  for (const entry of entries) visit(join(src, entry));
  return packages;
}

describe('what entry points load', () => {
  it("'klue' loads only the logger", () => {
    expect(Object.fromEntries(packagesLoadedBy('index.ts'))).toEqual({ pino: 'core/log/logger.ts' });
  });

  it('no entry loads undici: the client imports it on the first call', () => {
    const loaded = packagesLoadedBy('index.ts', 'server.ts', 'tasks/index.ts', 'process/worker-main.ts', 'cli/main.ts');
    expect(loaded.get('undici')).toBeUndefined();
  });

  it('`klue token` loads neither the server, the queue client, the spec parser nor the metrics', () => {
    const loaded = [...packagesLoadedBy('cli/main.ts', 'cli/token-command.ts')].map(([name, from]) => `${name} (from ${from})`);
    const heavy = /^(fastify|@fastify\/.*|bullmq|ioredis|@bull-board\/.*|@apidevtools\/swagger-parser|prom-client|json-schema-to-typescript|tsx)\b/;
    expect(loaded.filter((p) => heavy.test(p))).toEqual([]);
  });

  it('a worker and `klue tasks` load specs without Ajv, swagger-parser or the client side', () => {
    // Ajv is required when the first validator is made, swagger-parser imported to bundle a
    // split spec or validate one not seen before, the client when config names clients.
    const loaded = [...packagesLoadedBy('process/worker-main.ts', 'cli/tasks-command.ts')].map(([name, from]) => `${name} (from ${from})`);
    const heavy = /^(ajv|ajv-formats|@apidevtools\/swagger-parser|undici|fastify|@fastify\/.*|@bull-board\/.*|json-schema-to-typescript)\b/;
    expect(loaded.filter((p) => heavy.test(p))).toEqual([]);
  });
});
