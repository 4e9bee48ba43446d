import { describe, expect, it } from 'vitest';
import { asynctask } from '../../src/tasks/index.js';
import { asyncStarted } from '../../src/tasks/transport/runtime.js';
import { currentUser, runInContext } from '../../src/core/context/context.js';
import { rootLogger } from '../../src/core/log/logger.js';

const calls: unknown[][] = [];
const add = asynctask(async function scriptAdd(a: number, b: number, at: Date) {
  calls.push([a, b, at]);
  return { sum: a + b, by: currentUser()?.sub };
});
const fails = asynctask(async function scriptFails() {
  throw new Error('script failure');
});

describe('script mode (no async runtime)', () => {
  it('runs the task here and now, in the current context', async () => {
    expect(asyncStarted()).toBe(false);
    const at = new Date(5);
    const handle = await runInContext({ ctx: { user: { sub: 'cli' } }, log: rootLogger() }, () => add(1, 2, at));
    expect(calls).toHaveLength(1);
    expect(calls[0]?.[2]).toEqual(at);
    // Arguments are copied through the codec, as a worker would receive them.
    expect(calls[0]?.[2]).not.toBe(at);
    expect(handle).toMatchObject({ task: 'scriptAdd', queue: 'default', duplicate: false });
    expect(await handle.result()).toEqual({ sum: 3, by: 'cli' });
  });

  it('rejects with the task error and with bad arguments', async () => {
    await expect(fails()).rejects.toThrow('script failure');
    await expect(add(1, 2, new Map() as unknown as Date)).rejects.toThrow('scriptAdd: args[2] is a Map');
  });

  it('now() runs the original function without any codec', async () => {
    const at = new Date(7);
    expect(await add.now(2, 3, at)).toEqual({ sum: 5, by: undefined });
    expect(calls.at(-1)?.[2]).toBe(at);
  });
});
