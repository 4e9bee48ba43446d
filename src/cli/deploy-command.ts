import { type Command, InvalidArgumentError } from 'commander';
import { relative } from 'node:path';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a port number (1-65535)');
  return n;
}

function nodeVersion(value: string): string {
  if (!/^\d+(\.\d+){0,2}$/.test(value)) throw new InvalidArgumentError("expected a Node.js version such as '20' or '22.11'");
  return value;
}

interface InitOptions {
  force?: boolean;
  port: number;
  node: string;
}

async function initCommand(opts: InitOptions): Promise<void> {
  // Imported here: every klue process registers this command, and a worker never runs it.
  const { DeployFileExistsError, deployInit } = await import('../deploy/init.js');
  try {
    const { written, warnings } = await deployInit({ force: opts.force, port: opts.port, nodeVersion: opts.node });
    for (const file of written) process.stdout.write(`wrote ${relative(process.cwd(), file)}\n`);
    for (const w of warnings) process.stderr.write(`klue: warning: ${w}\n`);
  } catch (err) {
    if (!(err instanceof DeployFileExistsError)) throw err;
    const names = err.files.map((f) => relative(process.cwd(), f));
    process.stderr.write(`klue: ${names.join(', ')} already ${names.length === 1 ? 'exists' : 'exist'}; nothing was written (use --force to overwrite)\n`);
    process.exitCode = 1;
  }
}

/** `klue deploy ...`: deployment files for the service in the current folder. */
export function registerDeployCommands(program: Command): void {
  const deploy = program.command('deploy').description('generate deployment files for the service in the current folder');
  deploy
    .command('init')
    .description('write Dockerfile, .dockerignore, docker-compose.yml and Procfile')
    .option('-f, --force', 'overwrite files that exist')
    .option('-p, --port <port>', 'port the container listens on', port, 8080)
    .option('--node <version>', 'Node.js version of the base image', nodeVersion, '22')
    .action(initCommand);
}
