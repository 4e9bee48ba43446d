import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderCompose } from './compose.js';
import { readDeployTarget } from './deploy-target.js';
import { renderDockerfile } from './dockerfile.js';
import { renderDockerignore } from './dockerignore.js';
import { renderProcfile } from './procfile.js';

export interface DeployInitOptions {
  /** The service folder. Default: the current directory. */
  dir?: string;
  /** Overwrite files that exist. Default false: an existing file stops the command before anything is written. */
  force?: boolean;
  /** Port the container listens on. Default 8080. */
  port?: number;
  /** Node.js version of the base image (`node:<version>-bookworm-slim`). Default `20`. */
  nodeVersion?: string;
}

export interface DeployInitResult {
  /** Absolute paths of the files written. */
  written: string[];
  warnings: string[];
}

/** Raised when a deployment file exists and `force` is off; names every such file. */
export class DeployFileExistsError extends Error {
  constructor(readonly files: string[]) {
    super(`${files.join(', ')} already ${files.length === 1 ? 'exists' : 'exist'} (use --force to overwrite)`);
    this.name = 'DeployFileExistsError';
  }
}

/** Writes Dockerfile, .dockerignore, docker-compose.yml and Procfile for the service in `dir`. */
export async function deployInit(options: DeployInitOptions = {}): Promise<DeployInitResult> {
  const dir = resolve(options.dir ?? process.cwd());
  const { target, warnings } = await readDeployTarget({ dir, port: options.port, nodeVersion: options.nodeVersion });
  const files: [string, string][] = [
    ['Dockerfile', renderDockerfile(target)],
    ['.dockerignore', renderDockerignore()],
    ['docker-compose.yml', renderCompose(target)],
    ['Procfile', renderProcfile(target)],
  ];
  // Checked all up front so that a refusal leaves the folder as it was, not half regenerated.
  const existing = files.map(([name]) => join(dir, name)).filter((f) => existsSync(f));
  if (existing.length > 0 && !options.force) throw new DeployFileExistsError(existing);
  const written = files.map(([name, text]) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  });
  return { written, warnings };
}
