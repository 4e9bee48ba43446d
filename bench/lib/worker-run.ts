import type { AblationStep } from '../children/worker.js';
import { cpuSeconds, spawnChild } from './common.js';

/** What bench/children/worker.ts runs: klue's worker, a raw BullMQ Worker (+ ALS, or + klue's context), or an ablation step. */
export type WorkerVariant = 'klue' | 'raw' | 'raw-als' | 'raw-ctx' | AblationStep;

/** The variants that run a plain BullMQ Worker on jobs added with `queue.add()`. */
export type RawVariant = 'raw' | 'raw-als' | 'raw-ctx';
export function isRawVariant(variant: WorkerVariant): variant is RawVariant {
  return variant === 'raw' || variant === 'raw-als' || variant === 'raw-ctx';
}

export interface WorkerRun {
  tasksPerSec: number;
  /** Worker process CPU (user + system) per task, from 'go' to the last task. */
  cpuUsPerTask: number;
  redisCpuUsPerTask: number;
  /** RSS once the worker serves, and after the last task. */
  idleRssMb: number;
  rssMb: number;
  /** With `countAsync`: async resources made per task, by type (PROMISE, TickObject, Timeout...). */
  asyncPerTask?: Record<string, number>;
}

/** Queues `n` no-op tasks for `variant`: through klue, or through `queue.add()` for the raw variants. */
export async function fillQueue(redisUrl: string, variant: WorkerVariant, n: number): Promise<void> {
  const fill = spawnChild('producer.ts', { mode: 'fill', redisUrl, variant: isRawVariant(variant) ? 'raw' : 'klue', n });
  try {
    await fill.next('result');
  } finally {
    await fill.stop();
  }
}

/**
 * Queues `n` no-op tasks (through klue, or through `queue.add()` for the raw variants), then
 * lets one worker process drain them and reports its throughput and costs. With `profileTo`,
 * the worker writes a .cpuprofile of the drain there.
 */
export async function drainQueued(
  redis: { url: string; pid: number },
  run: { variant: WorkerVariant; concurrency: number; n: number; profileTo?: string; countAsync?: boolean },
): Promise<WorkerRun> {
  await fillQueue(redis.url, run.variant, run.n);
  const worker = spawnChild('worker.ts', { ...run, redisUrl: redis.url });
  try {
    await worker.next('loaded');
    const redisCpu0 = cpuSeconds(redis.pid);
    worker.send({ type: 'go' });
    const ready = await worker.next('ready');
    const done = await worker.next('done');
    const redisCpu = cpuSeconds(redis.pid) - redisCpu0;
    if (run.profileTo) await worker.next('profiled');
    return {
      tasksPerSec: Number(done.tasksPerSec),
      cpuUsPerTask: Number(done.cpuUsPerTask),
      redisCpuUsPerTask: Math.round((redisCpu / run.n) * 1e6),
      idleRssMb: Number(ready.rssMb),
      rssMb: Number(done.rssMb),
      asyncPerTask: done.asyncPerTask as Record<string, number> | undefined,
    };
  } finally {
    await worker.stop();
  }
}
