import { describe, expect, it } from 'vitest';
import { KlueError } from '../core/errors/klue-error.js';
import { asynctask } from './caller/asynctask.js';
import { getTask, registerTask } from './registry.js';

describe('task registry', () => {
  it('registers a task under its function name, or the name option', () => {
    const t = asynctask(async function registryNamed(n: number) {
      return n + 1;
    });
    expect(t.taskName).toBe('registryNamed');
    const u = asynctask({ name: 'registry.renamed', queue: 'mail' }, async (s: string) => s);
    expect(u.taskName).toBe('registry.renamed');
    expect(u.options).toEqual({ name: 'registry.renamed', queue: 'mail' });
    expect(getTask('registry.renamed')?.options.queue).toBe('mail');
  });

  it('refuses anonymous functions without a name option', () => {
    expect(() => asynctask((() => (async () => 1))())).toThrow(TypeError);
    expect(() => asynctask((() => (async () => 1))())).toThrow(/has no name/);
  });

  it('refuses a second task with the same name, naming both functions', () => {
    asynctask(async function registryDup() {});
    let caught: unknown;
    try {
      asynctask({ name: 'registryDup' }, async function otherFn() {});
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(KlueError);
    expect((caught as KlueError).code).toBe('DUPLICATE_TASK');
    expect((caught as KlueError).message).toMatch(/'registryDup'.*function registryDup.*function otherFn/);
  });

  it('accepts the very same function registered again (a module loaded twice)', () => {
    async function registryTwice() {}
    asynctask(registryTwice);
    expect(() => asynctask(registryTwice)).not.toThrow();
    const def = getTask('registryTwice');
    expect(def?.fn).toBe(registryTwice);
    expect(() => registerTask({ name: 'registryTwice', fn: registryTwice, options: {} })).not.toThrow();
  });

  it('checks options when the task is defined', () => {
    expect(() => asynctask({ name: 'registry.bad1', queue: 'a:b' }, async () => {})).toThrow(/queue 'a:b'/);
    expect(() => asynctask({ name: 'registry.bad2', attempts: 0 }, async () => {})).toThrow(/attempts must be an integer >= 1/);
    expect(() => asynctask({ name: 'registry.bad3', delay: 'soon' }, async () => {})).toThrow(/registry.bad3: delay: 'soon' is not a duration/);
    expect(() => asynctask({ name: 'registry.bad4', priority: 1.5 }, async () => {})).toThrow(/priority must be an integer/);
  });
});
