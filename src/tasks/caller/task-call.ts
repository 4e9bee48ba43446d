import { randomUUID } from 'node:crypto';
import { context, propagation } from '@opentelemetry/api';
import type { JobsOptions } from 'bullmq';
import type { KlueConfig } from '../../core/config/config-types.js';
import { currentContext, type KlueContext } from '../../core/context/context.js';
import { KlueTypeError } from '../../core/errors/klue-error.js';
import { parseDuration } from '../../util/duration.js';
import { encodeValue } from '../envelope/codec.js';
import { sealEnvelope, type SignedOptions, type TaskPayload } from '../envelope/envelope.js';
import type { EnqueueItem } from '../transport/producer.js';
import type { TaskDefinition } from '../registry.js';
import { sealToken } from '../envelope/token-cipher.js';
import type { CallOptions } from '../types.js';

/** The context a task runs in: the caller's, minus its own task info, plus the current trace. */
function shippedContext(): KlueContext {
  const { task: _task, ...ctx } = currentContext() ?? {};
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  // Without an OpenTelemetry SDK nothing is injected; keep the trace we were given, if any.
  if (Object.keys(carrier).length > 0) ctx.trace = carrier;
  return ctx;
}

/** A task's or call's `delay`/`timeout` in ms; a bad one is a TASK_OPTIONS_INVALID naming the task and option. */
export function taskDuration(value: number | string, what: string): number {
  try {
    return parseDuration(value, what);
  } catch (err) {
    throw new KlueTypeError('TASK_OPTIONS_INVALID', (err as Error).message, { cause: err });
  }
}

function checkJobId(task: string, jobId: string): void {
  if (typeof jobId !== 'string' || jobId === '' || `${parseInt(jobId, 10)}` === jobId || jobId.includes(':')) {
    throw new KlueTypeError('TASK_OPTIONS_INVALID', `${task}: jobId ${JSON.stringify(jobId)} must be a non-empty string that is not an integer and has no ':'`);
  }
}

/** Options of calls made without per-call options, per task: the same for every call, so computed once (and shared, frozen). */
const plainCallOptions = new WeakMap<TaskDefinition, { config: KlueConfig; opts: JobsOptions }>();

function isPlainCall(call: CallOptions): boolean {
  return call.attempts === undefined && call.delay === undefined && call.priority === undefined && call.jobId === undefined;
}

function deepFreeze<T extends object>(value: T): T {
  for (const v of Object.values(value)) if (typeof v === 'object' && v !== null) deepFreeze(v as object);
  return Object.freeze(value);
}

/** Job options of one call; checked here so one bad call cannot fail a whole batch in Redis. */
export function jobOptions(def: TaskDefinition, call: CallOptions, config: KlueConfig): JobsOptions {
  if (!isPlainCall(call)) return computeJobOptions(def, call, config);
  const cached = plainCallOptions.get(def);
  if (cached?.config === config) return cached.opts;
  const opts = deepFreeze(computeJobOptions(def, call, config));
  plainCallOptions.set(def, { config, opts });
  return opts;
}

function computeJobOptions(def: TaskDefinition, call: CallOptions, config: KlueConfig): JobsOptions {
  const attempts = call.attempts ?? def.options.attempts ?? config.async.attempts;
  checkOptions(def.name, { attempts, priority: call.priority });
  const delayValue = call.delay ?? def.options.delay ?? config.async.delay;
  const delay = delayValue === undefined ? 0 : taskDuration(delayValue, `${def.name}: delay`);
  const priority = call.priority ?? def.options.priority;
  const opts: JobsOptions = {
    attempts,
    backoff: { type: 'exponential', delay: def.options.backoff ?? config.async.backoff, jitter: 0.5 },
    removeOnComplete: { count: config.async.keep_completed },
    removeOnFail: { count: config.async.keep_failed },
  };
  if (delay > 0) opts.delay = delay;
  if (priority) opts.priority = priority;
  if (call.jobId !== undefined) {
    checkJobId(def.name, call.jobId);
    opts.jobId = call.jobId;
  }
  return opts;
}

/** Validates attempts, backoff and priority wherever they are given. */
export function checkOptions(task: string, o: { attempts?: number; backoff?: number; priority?: number }): void {
  if (o.attempts !== undefined && !(Number.isInteger(o.attempts) && o.attempts >= 1)) {
    throw new KlueTypeError('TASK_OPTIONS_INVALID', `${task}: attempts must be an integer >= 1, not ${o.attempts}`);
  }
  if (o.backoff !== undefined && !(Number.isFinite(o.backoff) && o.backoff >= 0)) {
    throw new KlueTypeError('TASK_OPTIONS_INVALID', `${task}: backoff must be a number of ms >= 0, not ${o.backoff}`);
  }
  if (o.priority !== undefined && !(Number.isInteger(o.priority) && o.priority >= 0 && o.priority < 2 ** 21)) {
    throw new KlueTypeError('TASK_OPTIONS_INVALID', `${task}: priority must be an integer from 0 to 2097151, not ${o.priority}`);
  }
}

/** The job options a worker checks against the envelope, as signed. */
function signedOptions(opts: JobsOptions): SignedOptions {
  const o: SignedOptions = { a: opts.attempts ?? 1 };
  if (opts.delay) o.d = opts.delay;
  if (opts.priority) o.p = opts.priority;
  return o;
}

/**
 * Encodes, serialises and signs one call: the only per-call CPU work before Redis. The job id
 * is chosen here (the call's id, unless the caller chose one), so that the envelope can name
 * the one job it may run in; the caller's token is encrypted into it.
 */
export function prepareCall(def: TaskDefinition, call: CallOptions, args: unknown[], config: KlueConfig, secret: string): EnqueueItem {
  const opts = jobOptions(def, call, config);
  const encoded = encodeValue(args, def.name, 'args') as unknown[];
  const queue = def.options.queue ?? 'default';
  const id = randomUUID();
  const at = Date.now();
  const ctx = shippedContext();
  // id and exp first: the worker's scripts read them from the head of the data (ledger-scripts.ts).
  const payload: TaskPayload = {
    id,
    exp: at + (opts.delay ?? 0) + config.async.max_task_age,
    svc: config.async.queue,
    q: queue,
    task: def.name,
    args: encoded,
    ctx,
    at,
    o: signedOptions(opts),
  };
  if (opts.jobId !== undefined) payload.job = opts.jobId;
  if (ctx.token !== undefined) {
    payload.tok = sealToken(ctx.token, secret, id);
    delete ctx.token;
  }
  const data = sealEnvelope(payload, secret, config.async.max_payload);
  return { queue, name: def.name, data, jobId: opts.jobId ?? id, opts };
}
