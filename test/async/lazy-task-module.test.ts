import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { asynctask } from '../../src/tasks/caller/asynctask.js';
import { captureLogs, silenceLogs } from '../helpers/captured-logs.js';
import { repoRoot } from '../helpers/service-dir.js';
import { waitFor } from '../helpers/config.js';
import { startHarness, type Harness } from '../helpers/harness.js';

// Defined before start-up, as the service's handlers' tasks are: workers load it too.
const definedAtStart = asynctask(async function definedAtStart() {
  return 1;
});

let h: Harness | undefined;
afterAll(async () => {
  await h?.stop();
  silenceLogs();
});

describe('a task whose module workers do not import', () => {
  it('is warned of the first time the server queues it, naming its module and async.modules', async () => {
    // testConfig's service folder is a fresh directory right under tmpdir().
    const listed = relative(join(tmpdir(), 'service'), join(repoRoot, 'test', 'fixtures', 'lazy-tasks', 'listed.ts'));
    h = await startHarness({ worker: false, async: { modules: [listed] } });
    const lines = captureLogs();
    const { lazyListed } = await import('../fixtures/lazy-tasks/listed.js');
    const { lazyNotListed } = await import('../fixtures/lazy-tasks/not-listed.js');

    await definedAtStart();
    await lazyListed(1);
    await lazyNotListed(1);
    await lazyNotListed(2);
    const warned = await waitFor(() => lines.find((l) => l.obj.task === 'lazyNotListed'), 10_000, 'the warning');

    expect(warned.level).toBe(40);
    expect(warned.obj.module).toBe(join(repoRoot, 'test', 'fixtures', 'lazy-tasks', 'not-listed.ts'));
    expect(warned.msg).toMatch(/^async: task lazyNotListed is defined in .*not-listed\.ts, which was imported after start-up and is not in async\.modules: .*list it under async\.modules in /);
    // Once per task; none for the task defined at start-up or the one async.modules lists.
    expect(lines.filter((l) => l.obj.task !== undefined).map((l) => l.obj.task)).toEqual(['lazyNotListed']);
  });
});
