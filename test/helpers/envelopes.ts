import { randomUUID } from 'node:crypto';
import type { JobsOptions } from 'bullmq';
import { sealEnvelope, type TaskPayload } from '../../src/tasks/envelope/envelope.js';
import { resolveSecret } from '../../src/tasks/secret.js';
import type { KlueConfig } from '../../src/core/config/config-types.js';

/**
 * A correctly signed envelope as a server of `config` would queue it, and the job id and options
 * it was signed for: for tests that put jobs in a queue by hand (unknown tasks, replays).
 */
export function craftEnvelope(config: KlueConfig, fields: Partial<TaskPayload> & { task: string }): { data: unknown; text: string; opts: JobsOptions & { jobId: string } } {
  const at = fields.at ?? Date.now();
  // In the order a task call writes them: id and exp first (ledger-scripts.ts reads them there).
  const payload: TaskPayload = {
    id: randomUUID(),
    exp: at + config.async.max_task_age,
    svc: config.async.queue,
    q: 'default',
    args: [],
    ctx: {},
    at,
    o: { a: config.async.attempts },
    ...fields,
  };
  const text = sealEnvelope(payload, resolveSecret(config), config.async.max_payload);
  const opts: JobsOptions & { jobId: string } = { jobId: payload.job ?? payload.id, attempts: payload.o.a };
  if (payload.o.d) opts.delay = payload.o.d;
  if (payload.o.p) opts.priority = payload.o.p;
  return { data: JSON.parse(text) as unknown, text, opts };
}
