import { describe, expect, it } from 'vitest';
import type { ContextStore } from '../../core/context/context.js';
import { KlueError } from '../../core/errors/klue-error.js';
import { rootLogger } from '../../core/log/logger.js';
import { settlePending } from './pending.js';

function store(): ContextStore & { pending: Set<Promise<unknown>> } {
  return { ctx: {}, log: rootLogger(), pending: new Set() };
}

async function failureOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('settlePending', () => {
  it('waits for promises, including ones added while waiting', async () => {
    const s = store();
    const order: string[] = [];
    s.pending.add(
      new Promise<void>((resolve) =>
        setTimeout(() => {
          order.push('first');
          s.pending.add(new Promise<void>((r) => setTimeout(() => (order.push('second'), r()), 5)));
          resolve();
        }, 5),
      ),
    );
    await settlePending(s);
    expect(order).toEqual(['first', 'second']);
  });

  it('turns connection failures into ASYNC_UNAVAILABLE and passes other errors through', async () => {
    const down = store();
    const refused = new Error('connect ECONNREFUSED 127.0.0.1:1');
    down.failedCalls = [{ err: refused, observed: () => false }];
    const err = await failureOf(settlePending(down));
    expect(err).toBeInstanceOf(KlueError);
    expect((err as KlueError).code).toBe('ASYNC_UNAVAILABLE');
    expect((err as KlueError).status).toBe(503);

    const bad = store();
    const typeError = new TypeError('sendEmail: args[0] is a Map');
    bad.failedCalls = [{ err: typeError, observed: () => false }];
    expect(await failureOf(settlePending(bad))).toBe(typeError);
  });

  it('leaves a failure the handler observed to the handler', async () => {
    const s = store();
    s.failedCalls = [{ err: new TypeError('caught by the handler'), observed: () => true }];
    await expect(settlePending(s)).resolves.toBeUndefined();
  });

  it('does nothing without a pending set', async () => {
    await expect(settlePending({ ctx: {}, log: rootLogger() })).resolves.toBeUndefined();
  });
});
