import { registeredTasks } from '../tasks/registry.js';
import { importTaskModules } from '../service/task-modules.js';
import { loadConfig } from '../core/config/load-config.js';
import { loadService } from '../service/load-service.js';
import { printTable } from './print-table.js';

/** `klue tasks`: every task the service defines, with its options and the config defaults applied. */
export async function tasksCommand(opts: { env?: string; json?: boolean }): Promise<void> {
  const config = await loadConfig({ env: opts.env });
  await loadService(config, { http: false });
  await importTaskModules(config);
  const a = config.async;
  const rows = registeredTasks()
    .map((t) => ({
      task: t.name,
      queue: t.options.queue ?? 'default',
      attempts: t.options.attempts ?? a.attempts,
      backoff: t.options.backoff ?? a.backoff,
      delay: t.options.delay ?? a.delay ?? '',
      timeout: t.options.timeout ?? a.timeout ?? '',
      priority: t.options.priority ?? '',
    }))
    .sort((x, y) => x.task.localeCompare(y.task));
  if (opts.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  else printTable(rows, ['task', 'queue', 'attempts', 'backoff', 'delay', 'timeout', 'priority']);
}
