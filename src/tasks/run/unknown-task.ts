import type { KlueConfig } from '../../core/config/config-types.js';
import type { Logger } from '../../core/log/logger.js';
import type { TaskPayload } from '../envelope/envelope.js';
import { basename, relative } from 'node:path';
import { taskNames } from '../registry.js';
import { serviceModules } from '../../util/service-modules.js';

/** Modules named in the warning's text (all of them are in its `worker_modules` field). */
const MODULES_SHOWN = 10;

/**
 * Rejection of a run this worker cannot do but a newer one can (a task it does not know, or an
 * envelope version newer than it reads), queued less than `async.unknown_task_grace` ago: most
 * likely a newer version queued it during a rolling deploy. The worker puts the job back for
 * `retryInMs` without using an attempt.
 */
export class UnknownTaskDeferred extends Error {
  constructor(
    readonly task: string,
    readonly retryInMs: number,
    what = `no task named '${task}' in this worker`,
  ) {
    super(`UNKNOWN_TASK: ${what}; put back for ${retryInMs} ms`);
    this.name = 'UnknownTaskDeferred';
  }
}

/** Wait before an unknown task is offered again: 1 s at first, a quarter of its age later, at most 30 s. */
function retryMs(ageMs: number): number {
  return Math.round(Math.min(30_000, Math.max(1_000, ageMs / 4)));
}

/**
 * For a task this worker does not know: the deferral (logged) while it is within
 * `async.unknown_task_grace` of being queued; undefined past it, when it uses its attempts.
 */
export function deferUnknownTask(payload: TaskPayload, config: KlueConfig, log: Logger): UnknownTaskDeferred | undefined {
  const age = Date.now() - payload.at;
  if (age >= config.async.unknown_task_grace) return undefined;
  const deferred = new UnknownTaskDeferred(payload.task, retryMs(age));
  const modules = serviceModules().map((file) => relative(config.dir, file));
  const shown = modules.length > MODULES_SHOWN ? [...modules.slice(0, MODULES_SHOWN), `${modules.length - MODULES_SHOWN} more`] : modules;
  log.warn(
    { retry_in_ms: deferred.retryInMs, queued_ms_ago: age, known: taskNames(), worker_modules: modules, async_modules: config.async.modules },
    `async: task ${payload.task} is not known to this worker (a newer version queued it, or it is defined in a module workers do not import); ` +
      `this worker imports ${shown.length ? shown.join(', ') : 'no module of the service'}: a module the service imports lazily must be listed under async.modules (${config.async.modules.length ? config.async.modules.join(', ') : 'none'}) in ${basename(config.file)}; put back for a worker that knows it`,
  );
  return deferred;
}

/**
 * For a job whose envelope is of a version newer than this worker reads: the deferral (logged)
 * while it is within `async.unknown_task_grace` of `queuedAt`, the job's unsigned timestamp;
 * undefined past it (or with a timestamp in the future), when it fails as BAD_ENVELOPE.
 */
export function deferNewerEnvelope(version: number, job: { jobName: string; queuedAt?: number }, config: KlueConfig, log: Logger): UnknownTaskDeferred | undefined {
  if (job.queuedAt === undefined) return undefined;
  const age = Date.now() - job.queuedAt;
  // A timestamp from the future is not trusted to keep a job coming back.
  if (age < -60_000 || age >= config.async.unknown_task_grace) return undefined;
  const deferred = new UnknownTaskDeferred(job.jobName, retryMs(age), `envelope version ${version} is newer than this worker reads`);
  log.warn(
    { retry_in_ms: deferred.retryInMs, queued_ms_ago: age, envelope_version: version },
    `async: job ${job.jobName} has an envelope of version ${version}, newer than this worker reads (a newer version queued it?); put back for a worker that reads it`,
  );
  return deferred;
}
