import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { isAbsolute, join, posix, relative } from 'node:path';
import { promisify } from 'node:util';
import type { Stage } from './dockerfile-parser.js';

const run = promisify(execFile);

/** What `docker build` would leave in the final stage, with the image's files under `dir`. */
export interface BuiltImage {
  /** The final stage's WORKDIR, on this machine. */
  dir: string;
  env: Record<string, string>;
  user?: string;
  exposed: string[];
  healthcheck?: string[];
  cmd?: string[];
}

/** `.dockerignore` as Docker reads it: patterns anchored at the context root, `*` not crossing `/`, a match excludes a whole directory. */
export function dockerignoreFilter(text: string): (relPath: string) => boolean {
  const patterns = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  if (patterns.some((p) => p.startsWith('!'))) throw new Error('this emulation does not handle ! exceptions in .dockerignore');
  const regexes = patterns.map((p) => {
    const source = p
      .replace(/^\/+/, '')
      .split(/(\*\*|\*|\?)/)
      .map((part) => (part === '**' ? '.*' : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('');
    return new RegExp(`^${source}(/.*)?$`);
  });
  return (relPath) => !regexes.some((r) => r.test(relPath));
}

/**
 * Runs a parsed Dockerfile the way `docker build` would, without Docker: each stage gets a
 * folder under `root` standing for its WORKDIR; COPY reads the context through .dockerignore
 * (or another stage's folder with --from); RUN runs with the stage's ENV. Only what the klue
 * templates use is supported; anything else throws, so a template change cannot go untested.
 */
export async function buildLikeDocker(stages: Stage[], context: string, root: string, runEnv: NodeJS.ProcessEnv): Promise<BuiltImage> {
  const keep = existsSync(join(context, '.dockerignore')) ? dockerignoreFilter(readFileSync(join(context, '.dockerignore'), 'utf8')) : () => true;
  const built = new Map<string, { dir: string; workdir: string }>();
  let image: BuiltImage | undefined;
  for (const [index, stage] of stages.entries()) {
    const dir = join(root, `stage-${stage.name ?? index}`);
    mkdirSync(dir, { recursive: true });
    let workdir = '/';
    image = { dir, env: {}, exposed: [] };
    for (const ins of stage.instructions) {
      switch (ins.keyword) {
        case 'WORKDIR':
          if (workdir !== '/') throw new Error('this emulation handles one WORKDIR per stage');
          workdir = ins.args;
          break;
        case 'ENV': {
          const m = /^([A-Za-z_][A-Za-z0-9_]*)=(\S*)$/.exec(ins.args);
          if (!m) throw new Error(`unsupported ENV: ${ins.args}`);
          image.env[m[1]!] = m[2]!;
          break;
        }
        case 'COPY': {
          const parts = ins.args.split(/\s+/);
          const dest = parts.pop()!;
          const from = ins.flags.from ? built.get(ins.flags.from) : undefined;
          if (ins.flags.from && !from) throw new Error(`COPY --from=${ins.flags.from}: no such stage`);
          const target = join(dir, posix.relative(workdir, posix.resolve(workdir, dest)));
          for (const src of parts) {
            if (from) {
              if (!isAbsolute(src)) throw new Error(`COPY --from with a relative source: ${src}`);
              const inStage = join(from.dir, posix.relative(from.workdir, src));
              cpSync(inStage, dest.endsWith('/') ? join(target, posix.basename(src)) : target, { recursive: true, verbatimSymlinks: true });
            } else if (src === '.') {
              for (const entry of readdirSync(context)) {
                if (!keep(entry)) continue;
                cpSync(join(context, entry), join(target, entry), {
                  recursive: true,
                  verbatimSymlinks: true,
                  filter: (p) => keep(relative(context, p)),
                });
              }
            } else {
              if (!keep(src)) throw new Error(`COPY ${src}: excluded by .dockerignore`);
              cpSync(join(context, src), dest.endsWith('/') ? join(target, posix.basename(src)) : target, { recursive: true });
            }
          }
          break;
        }
        case 'RUN':
          if (ins.exec) throw new Error('this emulation runs shell-form RUN only');
          await run('sh', ['-c', ins.args], { cwd: dir, env: { ...process.env, ...image.env, ...runEnv }, maxBuffer: 64 * 1024 * 1024 });
          break;
        case 'USER':
          image.user = ins.args;
          break;
        case 'EXPOSE':
          image.exposed.push(...ins.args.split(/\s+/));
          break;
        case 'HEALTHCHECK':
          image.healthcheck = ins.exec;
          break;
        case 'CMD':
          image.cmd = ins.exec;
          break;
        default:
          throw new Error(`this emulation does not handle ${ins.keyword}`);
      }
    }
    if (stage.name) built.set(stage.name, { dir, workdir });
  }
  if (!image) throw new Error('the Dockerfile has no stage');
  return image;
}
