import { Command, InvalidArgumentError } from 'commander';
import { createRequire } from 'node:module';
import { KlueError } from '../core/errors/klue-error.js';
import { registerDeployCommands } from './deploy-command.js';
import { registerQueueCommands } from './queue-command.js';

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

/**
 * A command action whose module is imported only when the command runs: a worker process
 * never loads the HTTP stack (Fastify, Swagger UI, bull-board), which keeps its memory down.
 */
function lazy<O>(load: () => Promise<(opts: O) => Promise<void>>): (opts: O) => Promise<void> {
  return async (opts) => (await load())(opts);
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
}

/** Prints a start-up failure as one line a person can act on, then exits non-zero. */
export function fail(err: unknown): never {
  const message = err instanceof KlueError ? `${err.code}: ${err.message}` : err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`klue: ${message}\n`);
  process.exit(1);
}

export function buildProgram(): Command {
  const program = new Command('klue').version(pkg.version).description('Spec-first REST microservices with async tasks');
  program
    .command('start')
    .description('serve the API of the service in the current folder (and run its workers when with_async is on)')
    .option('-p, --port <port>', 'port to listen on', positiveInt, 8080)
    .option('--host <host>', 'address to listen on', '0.0.0.0')
    .option('-e, --env <env>', 'environment: also reads klue-config.<env>.yaml')
    .option('--workers <n>', 'worker processes (default: async.workers)', positiveInt)
    .option('--no-worker', 'serve HTTP only, run no worker process')
    .action(lazy(async () => (await import('./start-command.js')).startCommand));
  program
    .command('worker')
    .description('run a worker process that executes queued tasks')
    .option('-e, --env <env>', 'environment: also reads klue-config.<env>.yaml')
    .option('--queues <names>', 'comma-separated queues to serve (default: all)')
    .option('--concurrency <n>', 'tasks run at once (default: async.concurrency)', positiveInt)
    .option('--metrics-port <port>', 'serve this worker\'s Prometheus metrics on this port', positiveInt)
    .action(lazy(async () => (await import('./worker-command.js')).workerCommand));
  program
    .command('token')
    .description('print a JWT for a user, signed with the service config')
    .requiredOption('-u, --user <id>', 'user id (the sub claim)')
    .option('--expires <duration>', "lifetime, e.g. '1h' (default: jwt_token_timeout)")
    .option('-e, --env <env>', 'environment')
    .action(lazy(async () => (await import('./token-command.js')).tokenCommand));
  program
    .command('types')
    .description("generate TypeScript types for each API's definitions and operations into types/")
    .option('-e, --env <env>', 'environment')
    .action(lazy(async () => (await import('./types-command.js')).typesCommand));
  program
    .command('tasks')
    .description('list the registered tasks and their options')
    .option('-e, --env <env>', 'environment')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await import('./tasks-command.js')).tasksCommand));
  program
    .command('init [dir]')
    .description('write a new service into an empty or new folder (default: the current one)')
    .option('--name <name>', 'package and API name (default: the folder name)')
    .option('--klue <spec>', "the service's klue dependency: klue's folder, a tarball from `npm pack`, or an npm spec (default: this klue's folder)")
    .action(async (dir: string | undefined, opts: { name?: string; klue?: string }) => (await import('./init-command.js')).initCommand(dir, opts));
  registerQueueCommands(program);
  registerDeployCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    fail(err);
  }
}
