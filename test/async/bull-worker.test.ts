import { randomUUID } from 'node:crypto';
import { SpanKind, Worker, type Span, type Telemetry } from 'bullmq';
import { afterEach, describe, expect, it, inject } from 'vitest';
import { KlueBullWorker } from '../../src/tasks/run/bull-worker.js';

const workers: KlueBullWorker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
});

function worker(telemetry?: Telemetry): KlueBullWorker {
  const w = new KlueBullWorker(`bull-worker-${randomUUID()}`, () => Promise.resolve(), {
    connection: { url: inject('redisUrl'), maxRetriesPerRequest: null },
    autorun: false,
    telemetry,
  });
  workers.push(w);
  return w;
}

/** Telemetry that only records the names of the spans BullMQ starts. */
function recordingTelemetry(names: string[]): Telemetry {
  const span: Span = {
    setSpanOnContext: (ctx: unknown) => ctx,
    setAttribute: () => undefined,
    setAttributes: () => undefined,
    addEvent: () => undefined,
    recordException: () => undefined,
    end: () => undefined,
  };
  return {
    tracer: {
      startSpan: (name: string) => {
        names.push(name);
        return span;
      },
    },
    contextManager: {
      with: <A extends (...args: unknown[]) => unknown>(_ctx: unknown, fn: A) => fn() as ReturnType<A>,
      active: () => ({}),
      getMetadata: () => '',
      fromMetadata: (ctx: unknown) => ctx,
    },
  };
}

describe('KlueBullWorker', () => {
  it('runs a trace callback as it is when there is no telemetry: its promise, its value, its throw', async () => {
    const w = worker();
    const promise = Promise.resolve('p');
    let calls = 0;
    expect(
      w.trace(SpanKind.INTERNAL, 'op', 'q', () => {
        calls++;
        return promise;
      }),
    ).toBe(promise);
    await expect(w.trace(SpanKind.INTERNAL, 'op', 'q', () => 'v')).resolves.toBe('v');
    await expect(
      w.trace(SpanKind.INTERNAL, 'op', 'q', () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(calls).toBe(1);
  });

  it("leaves trace to BullMQ's when given telemetry", async () => {
    const names: string[] = [];
    const w = worker(recordingTelemetry(names));
    await expect(w.trace(SpanKind.INTERNAL, 'op', 'q', () => Promise.resolve('v'))).resolves.toBe('v');
    expect(names).toEqual(['op q']);
  });

  it('answers waitUntilReady with one promise of the client BullMQ gives', async () => {
    const w = worker();
    const ready = w.waitUntilReady();
    expect(w.waitUntilReady()).toBe(ready);
    const client = await ready;
    expect(client.status).toBe('ready');
    expect(await Worker.prototype.waitUntilReady.call(w)).toBe(client);
  });
});
