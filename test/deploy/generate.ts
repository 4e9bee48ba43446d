import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../helpers/service-dir.js';

const run = promisify(execFile);

export const DEPLOY_FILES = ['Dockerfile', '.dockerignore', 'docker-compose.yml', 'Procfile'] as const;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real `klue deploy ...` (bin/klue.js on the built dist) in `cwd`. The service's
 * secrets are left out of the environment unless given: generating files must not need them.
 */
export async function klueDeploy(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const base = { ...process.env };
  delete base.PYM_JWT_SECRET;
  delete base.KLUE_ASYNC_SECRET;
  try {
    const { stdout, stderr } = await run(process.execPath, [join(repoRoot, 'bin', 'klue.js'), 'deploy', ...args], { cwd, env: { ...base, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** The deployment files in `dir` (absent ones left out). */
export function readDeployFiles(dir: string): Partial<Record<(typeof DEPLOY_FILES)[number], string>> {
  return Object.fromEntries(DEPLOY_FILES.filter((f) => existsSync(join(dir, f))).map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
}
