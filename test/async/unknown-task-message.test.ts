import { join, relative } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { TaskPayload } from '../../src/tasks/envelope/envelope.js';
import { importTaskModules } from '../../src/service/task-modules.js';
import { deferUnknownTask } from '../../src/tasks/run/unknown-task.js';
import { repoRoot } from '../helpers/service-dir.js';
import { testConfig } from '../helpers/config.js';

describe("a worker's warning of a task it does not know", () => {
  it('names the modules the worker imports and points to async.modules', async () => {
    const listed = join(repoRoot, 'test', 'fixtures', 'lazy-tasks', 'listed.ts');
    const config = await testConfig({ modules: [listed] });
    await importTaskModules(config);
    const lines: { obj: Record<string, unknown>; msg: string }[] = [];
    const log = pino({ hooks: { logMethod: (args) => void lines.push({ obj: args[0] as Record<string, unknown>, msg: String(args[1]) }) } });

    const payload = { task: 'sendInvoice', at: Date.now() } as TaskPayload;
    expect(deferUnknownTask(payload, config, log)).toBeDefined();

    const [line] = lines;
    expect(line?.obj.worker_modules).toContain(relative(config.dir, listed));
    expect(line?.obj.async_modules).toEqual([listed]);
    expect(line?.msg).toMatch(/^async: task sendInvoice is not known to this worker \(a newer version queued it, or it is defined in a module workers do not import\); this worker imports .*listed\.ts.*: a module the service imports lazily must be listed under async\.modules \(.*listed\.ts\) in klue-config\.yaml; put back/);
  });
});
