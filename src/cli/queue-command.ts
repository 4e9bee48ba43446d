import type { Command } from 'commander';
import type { QueueAdmin } from '../tasks/transport/queue-admin.js';
import { KlueError } from '../core/errors/klue-error.js';
import { parseDuration } from '../util/duration.js';

/** A duration option; a bad one is a CLI_INVALID naming the option. */
function cliDuration(value: string, option: string): number {
  try {
    return parseDuration(value, option);
  } catch (err) {
    throw new KlueError('CLI_INVALID', (err as Error).message, { cause: err });
  }
}
import { printTable } from './print-table.js';

interface CommonOptions {
  env?: string;
  json?: boolean;
}

/** Loads the service (so its tasks and their queues are known) and opens its queues. */
async function withAdmin<T>(opts: CommonOptions, fn: (admin: QueueAdmin) => Promise<T>): Promise<T> {
  // Imported here: every klue command registers these commands, and only these run them.
  const [{ loadConfig }, { loadService }, { importTaskModules }, { ensureRedis }, { QueueAdmin }] = await Promise.all([
    import('../core/config/load-config.js'),
    import('../service/load-service.js'),
    import('../service/task-modules.js'),
    import('../process/embedded-redis.js'),
    import('../tasks/transport/queue-admin.js'),
  ]);
  const config = await loadConfig({ env: opts.env });
  await loadService(config, { http: false });
  await importTaskModules(config);
  // An embedded Redis that is not running is started for the command and stopped after it.
  const redis = config.async.mode === 'queue' ? await ensureRedis(config) : undefined;
  const admin = new QueueAdmin(config);
  try {
    return await fn(admin);
  } finally {
    await admin.close();
    await redis?.stop();
  }
}

function output(opts: CommonOptions, rows: object[], columns: string[]): void {
  if (opts.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  else printTable(rows as Record<string, unknown>[], columns);
}

export function registerQueueCommands(program: Command): void {
  const queue = program.command('queue').description("inspect and repair the service's task queues");
  queue
    .command('stats')
    .description('waiting / active / delayed / failed / completed per queue')
    .option('-e, --env <env>', 'environment')
    .option('--json', 'print JSON')
    .action((opts: CommonOptions) =>
      withAdmin(opts, async (admin) => output(opts, await admin.stats(), ['queue', 'waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed'])),
    );
  queue
    .command('failed')
    .description('the most recent failed tasks')
    .option('-e, --env <env>', 'environment')
    .option('--limit <n>', 'how many', (v) => Number(v), 20)
    .option('--json', 'print JSON')
    .action((opts: CommonOptions & { limit: number }) =>
      withAdmin(opts, async (admin) =>
        output(opts, await admin.failed(opts.limit), ['id', 'queue', 'task', 'error', 'attempts', 'requestId', 'user', 'failedAt']),
      ),
    );
  queue
    .command('retry [id]')
    .description('retry one failed task by id, or all of them with --all-failed')
    .option('-e, --env <env>', 'environment')
    .option('--all-failed', 'retry every failed task')
    .action((id: string | undefined, opts: CommonOptions & { allFailed?: boolean }) =>
      withAdmin(opts, async (admin) => {
        if (opts.allFailed) {
          process.stdout.write(`retrying ${await admin.retryAllFailed()} failed task(s)\n`);
        } else if (id) {
          const q = await admin.retry(id);
          if (!q) throw new KlueError('CLI_INVALID', `klue queue retry: no failed task with id ${id}`);
          process.stdout.write(`retrying ${id} (queue ${q})\n`);
        } else {
          throw new KlueError('CLI_INVALID', 'klue queue retry: give a task id or --all-failed');
        }
      }),
    );
  queue
    .command('clean')
    .description('remove finished tasks older than --grace (completed ones; with --failed also failed ones)')
    .option('-e, --env <env>', 'environment')
    .option('--grace <duration>', "keep tasks younger than this, e.g. '1h'", '0')
    .option('--failed', 'also remove failed tasks')
    .action((opts: CommonOptions & { grace: string; failed?: boolean }) =>
      withAdmin(opts, async (admin) => {
        const n = await admin.clean(cliDuration(opts.grace, '--grace'), opts.failed ? ['completed', 'failed'] : ['completed']);
        process.stdout.write(`removed ${n} task(s)\n`);
      }),
    );
}
