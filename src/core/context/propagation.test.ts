import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { bindContext, contextStorage, currentStore, runInContext, useContextPropagation, type ContextStore } from './context.js';
import { ContextStorage, nodeHasAsyncContextFrame, resolvePropagation } from './propagation.js';

interface Store {
  id: number;
}

for (const kind of ['promises', 'async_hooks'] as const) {
  describe(`context propagation: ${kind}`, () => {
    const storage = new ContextStorage<Store>(kind);

    it('is the store inside run and nothing outside, also after a throw', () => {
      expect(storage.getStore()).toBeUndefined();
      expect(storage.run({ id: 1 }, () => storage.getStore())).toEqual({ id: 1 });
      expect(() =>
        storage.run({ id: 2 }, () => {
          throw new Error('x');
        }),
      ).toThrow('x');
      expect(storage.getStore()).toBeUndefined();
    });

    it('follows awaits, then callbacks, Promise.all and async iteration', async () => {
      async function* numbers() {
        yield 1;
        await tick();
        yield 2;
      }
      const seen = await storage.run({ id: 3 }, async () => {
        const out: (number | undefined)[] = [];
        await Promise.resolve();
        out.push(storage.getStore()?.id);
        await sleep(5);
        out.push(storage.getStore()?.id);
        out.push(await Promise.resolve().then(() => storage.getStore()?.id));
        const all = await Promise.all([tick().then(() => storage.getStore()?.id), (async () => (await tick(), storage.getStore()?.id))()]);
        out.push(...all);
        for await (const _ of numbers()) out.push(storage.getStore()?.id);
        return out;
      });
      expect(seen).toEqual([3, 3, 3, 3, 3, 3, 3]);
      expect(storage.getStore()).toBeUndefined();
    });

    it('keeps concurrent runs apart however their awaits interleave', async () => {
      const runs = Array.from({ length: 50 }, (_, id) =>
        storage.run({ id }, async () => {
          const seen: number[] = [];
          for (let i = 0; i < 5; i++) {
            await sleep((id * 7 + i * 3) % 4);
            seen.push(storage.getStore()?.id ?? -1);
          }
          return seen;
        }),
      );
      const results = await Promise.all(runs);
      results.forEach((seen, id) => expect(seen).toEqual([id, id, id, id, id]));
    });

    it('restores the outer store after a nested run, and the nested one follows its own awaits', async () => {
      await storage.run({ id: 10 }, async () => {
        const inner = storage.run({ id: 11 }, async () => {
          await tick();
          return storage.getStore()?.id;
        });
        expect(storage.getStore()?.id).toBe(10);
        expect(await inner).toBe(11);
        expect(storage.getStore()?.id).toBe(10);
      });
    });

    it('gives a reaction the store current where it was attached, not where its promise was made or settled', async () => {
      let settle!: () => void;
      const outside = new Promise<void>((resolve) => (settle = resolve));
      const seen = storage.run({ id: 20 }, () => outside.then(() => storage.getStore()?.id));
      storage.run({ id: 21 }, () => settle());
      expect(await seen).toBe(20);
    });

    it('gives a plain timer callback the store under async_hooks, and no store (never another) under promise hooks', async () => {
      const viaTimer = (fn: () => number | undefined) => new Promise<number | undefined>((resolve) => setTimeout(() => resolve(fn()), 1));
      const plain = await storage.run({ id: 30 }, () => viaTimer(() => storage.getStore()?.id));
      expect(plain).toBe(kind === 'async_hooks' ? 30 : undefined);
    });
  });
}

describe('bindContext', () => {
  const store = (id: string): ContextStore => ({ ctx: { request: { id, method: 'GET', url: '/' } }, log: undefined as never });
  afterAll(() => useContextPropagation('auto'));

  for (const kind of ['promises', 'async_hooks'] as const) {
    it(`carries the context into a timer and an event callback (${kind})`, async () => {
      useContextPropagation(kind);
      const fromTimer = await runInContext(store('t'), () => new Promise<string | undefined>((resolve) => setTimeout(bindContext(() => resolve(currentStore()?.ctx.request?.id)), 1)));
      expect(fromTimer).toBe('t');
      const fromTick = await runInContext(store('n'), () => new Promise<string | undefined>((resolve) => process.nextTick(bindContext(() => resolve(currentStore()?.ctx.request?.id)))));
      expect(fromTick).toBe('n');
    });
  }

  it('returns the function itself outside any context', () => {
    const fn = () => 1;
    expect(bindContext(fn)).toBe(fn);
  });
});

describe('choosing the propagation', () => {
  it('auto is async_hooks only where AsyncLocalStorage is built on AsyncContextFrame', () => {
    expect(nodeHasAsyncContextFrame('20.20.2', [])).toBe(false);
    expect(nodeHasAsyncContextFrame('22.12.0', [])).toBe(false);
    expect(nodeHasAsyncContextFrame('22.12.0', ['--experimental-async-context-frame'])).toBe(true);
    expect(nodeHasAsyncContextFrame('22.6.0', ['--experimental-async-context-frame'])).toBe(false);
    expect(nodeHasAsyncContextFrame('24.1.0', [])).toBe(true);
    expect(nodeHasAsyncContextFrame('24.1.0', ['--no-async-context-frame'])).toBe(false);
    expect(resolvePropagation('auto')).toBe(nodeHasAsyncContextFrame() ? 'async_hooks' : 'promises');
    expect(resolvePropagation('async_hooks')).toBe('async_hooks');
  });

  it('the process-wide storage follows useContextPropagation', () => {
    useContextPropagation('async_hooks');
    expect(contextStorage.propagation).toBe('async_hooks');
    useContextPropagation('promises');
    expect(contextStorage.propagation).toBe('promises');
    useContextPropagation('auto');
    expect(contextStorage.propagation).toBe(resolvePropagation('auto'));
  });
});
