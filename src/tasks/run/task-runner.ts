import type { KlueConfig } from '../../core/config/config-types.js';
import { runInContext, type ContextStore, type KlueContext, type TaskInfo } from '../../core/context/context.js';
import { KlueError } from '../../core/errors/klue-error.js';
import { reportError } from '../../core/errors/reporter.js';
import { rootLogger, type Logger } from '../../core/log/logger.js';
import { completedRuns, metrics } from '../../telemetry/metrics.js';
import type { RunTally } from '../../telemetry/run-tally.js';
import { withTaskSpan } from '../../telemetry/tracing.js';
import { parseDuration } from '../../util/duration.js';
import { decodeValue, encodeValue, type TaskResult } from '../envelope/codec.js';
import { checkEnvelopeJob, NewerEnvelope, openEnvelope, type TaskPayload } from '../envelope/envelope.js';
import { scriptClaim } from '../transport/ledger-scripts.js';
import { FINISHED, type RunLedger } from '../transport/run-ledger.js';
import { openToken } from '../envelope/token-cipher.js';
import { PermanentError } from '../permanent-error.js';
import { getTask, taskNames, type TaskDefinition } from '../registry.js';
import { deferNewerEnvelope, deferUnknownTask } from './unknown-task.js';

/** One run of a queued job, as a worker (or the inline runner) sees it. */
export interface JobRun {
  data: unknown;
  /** The JSON text `data` was parsed from, when the runner has it: the envelope's signature is checked on it. */
  dataJson?: string;
  jobId: string;
  /** BullMQ job name (the task name, unless someone queued something else). */
  jobName: string;
  /** The queue (within the service) the job was taken from. */
  queue: string;
  /** The job's delay and priority options (0 for none) and whether a repeat or scheduler made it: checked against the envelope. */
  delay: number;
  priority: number;
  repeated: boolean;
  /** When the job was queued (ms since the epoch, as Redis holds it: not signed), when known. */
  queuedAt?: number;
  /** 1 for the first run. */
  attempt: number;
  attempts: number;
  /**
   * Aborted (its reason a WORKER_SHUTDOWN error) once the worker has put this run's job back in
   * the queue at shutdown: the run's `taskSignal()` is told, and how it ends no longer counts.
   */
  released?: AbortSignal;
  /** Set when the job's record in Redis could not be read: the run fails for good (BAD_ENVELOPE) with this reason. */
  unreadable?: string;
  /**
   * The run count BullMQ's script gave the job as it handed it out (the raw `klr` field, see
   * tasks/transport/ledger-scripts.ts), when klue's scripts fetched it.
   */
  scriptClaim?: string;
  /**
   * Set by processJob once the run is counted in the ledger: the envelope's id and expiry, and
   * whether the script counted it (and so records its end with the job's).
   */
  claimed?: { id: string; exp: number; byScript: boolean };
}

/** Errors after which retrying cannot help: the job fails for good at once. */
export function isPermanent(err: unknown): boolean {
  return err instanceof PermanentError || (err instanceof KlueError && (err.code === 'BAD_ENVELOPE' || err.code === 'TASK_EXPIRED'));
}

function toKlueErrorForTask(err: unknown, task: string): KlueError {
  if (err instanceof KlueError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new KlueError('TASK_FAILED', `${task}: ${message}`, { cause: err });
}

function withTimeout<T>(promise: Promise<T>, ms: number, task: string, abort: AbortController): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  // JavaScript cannot stop the task: it is told through its taskSignal(), and whatever it
  // still does after that is ignored.
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new KlueError('TASK_TIMEOUT', `${task}: still running after ${ms} ms (timeout)`);
      abort.abort(err);
      reject(err);
    }, ms);
  });
  promise.catch(() => undefined);
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Per task and config, what every run needs but no run changes: parsed once, not per job. */
interface RunPlan {
  config: KlueConfig;
  timeoutMs: number | undefined;
  spanName: string;
  label: { task: string };
  completed: RunTally;
}
const UNKNOWN_LABEL = { task: '(unknown)' };
const plans = new WeakMap<TaskDefinition, RunPlan>();

function runPlan(def: TaskDefinition, config: KlueConfig): RunPlan {
  const cached = plans.get(def);
  if (cached?.config === config) return cached;
  const timeout = def.options.timeout ?? config.async.timeout;
  const plan: RunPlan = {
    config,
    timeoutMs: timeout === undefined ? undefined : parseDuration(timeout, `${def.name}: timeout`),
    spanName: `task ${def.name}`,
    label: { task: def.name },
    completed: completedRuns(def.name),
  };
  plans.set(def, plan);
  return plan;
}

/** Calls the task function (a synchronous throw becomes a rejection, in inSpan). */
function callTask(def: TaskDefinition, args: never[], plan: RunPlan, store: TaskStore): Promise<unknown> {
  if (plan.timeoutMs === undefined) return Promise.resolve(def.fn(...args));
  const abort = store.abortable();
  return withTimeout(Promise.resolve(def.fn(...args)), plan.timeoutMs, def.name, abort);
}

/** Runs the task in its context and span, and resolves with what it returned (not yet encoded). */
function execute(def: TaskDefinition, plan: RunPlan, payload: TaskPayload, run: JobRun, store: TaskStore): Promise<unknown> {
  const args = decodeValue(payload.args) as never[];
  const attributes = { 'klue.task': def.name, 'klue.job_id': run.jobId, 'klue.attempt': run.attempt };
  return runInContext(store, () => withTaskSpan(plan.spanName, store.ctx.trace, attributes, () => callTask(def, args, plan, store)));
}

/**
 * A task run's context store. Its logger and its abort signal are made the first time something
 * asks: most runs never log, and only runs that can time out or call taskSignal() need a signal.
 */
class TaskStore implements ContextStore {
  private taskLog: Logger | undefined;
  private abort: AbortController | undefined;
  private unlink: (() => void) | undefined;

  constructor(
    readonly ctx: KlueContext & { task: TaskInfo },
    private readonly run: JobRun,
  ) {}

  /** The controller behind `signal`, made on first use; it follows the worker's release of the run. */
  abortable(): AbortController {
    if (this.abort) return this.abort;
    const abort = (this.abort = new AbortController());
    const released = this.run.released;
    if (released?.aborted) abort.abort(released.reason);
    else if (released) {
      const onRelease = () => abort.abort(released.reason);
      released.addEventListener('abort', onRelease, { once: true });
      this.unlink = () => released.removeEventListener('abort', onRelease);
    }
    return abort;
  }

  get signal(): AbortSignal {
    return this.abortable().signal;
  }

  /** The run has settled: a later release of the worker's runs is none of its business. */
  end(): void {
    this.unlink?.();
  }

  get log(): Logger {
    return (this.taskLog ??= rootLogger().child({
      req_id: this.ctx.request?.id,
      user_id: this.ctx.user?.sub,
      task: this.ctx.task.name,
      job_id: this.run.jobId,
      attempt: this.run.attempt,
    }));
  }
}

/**
 * Runs one job: checks the envelope (signature, then the job, queue, service and options it was
 * signed for, and its expiry), finds the task, counts the run in the ledger (an envelope that
 * already finished, or ran more often than its attempts allow, is refused), runs the task in
 * the caller's context (user, token, request, trace) with a logger bound to request id, user
 * id, task, job id and attempt, and records in the ledger an envelope that completed or failed
 * for good. Reports the error when this run is the last one. Rejects with what the task threw,
 * or BAD_ENVELOPE / TASK_EXPIRED, or for a task this worker does not know (or an envelope newer
 * than it reads) UnknownTaskDeferred (queued within `async.unknown_task_grace`) or UNKNOWN_TASK
 * (retried, so a newer worker may take it). One promise chain rather than async frames: this
 * runs once per job, and with AsyncLocalStorage on (Node 20) every promise made here costs.
 */
export function processJob(run: JobRun, config: KlueConfig, secret: string, ledger: RunLedger): Promise<TaskResult> {
  const started = performance.now();
  if (run.unreadable !== undefined) return rejectEnvelope(new KlueError('BAD_ENVELOPE', run.unreadable), run);
  let payload: TaskPayload;
  try {
    payload = openEnvelope(run.data, secret, config.async.max_payload, run.dataJson);
    checkEnvelopeJob(payload, { id: run.jobId, queue: run.queue, service: config.async.queue, attempts: run.attempts, delay: run.delay, priority: run.priority, repeated: run.repeated }, Date.now());
  } catch (err) {
    const deferred = err instanceof NewerEnvelope ? deferNewerEnvelope(err.version, { jobName: run.jobName, queuedAt: err.queuedAt ?? run.queuedAt }, config, rootLogger()) : undefined;
    if (deferred) {
      metrics().taskRetried.inc(UNKNOWN_LABEL);
      return Promise.reject(deferred);
    }
    return rejectEnvelope(err, run);
  }
  // The payload's context, parsed for this run alone, takes the run's task itself: copying it
  // ({ ...ctx, task }) was most of processJob's own time in a worker profile.
  const ctx = payload.ctx as KlueContext & { task: TaskInfo };
  ctx.task = { name: payload.task, jobId: run.jobId, attempt: run.attempt };
  const store = new TaskStore(ctx, run);
  const def = getTask(payload.task);
  if (!def) {
    const deferred = deferUnknownTask(payload, config, store.log);
    if (deferred) {
      // Put back to wait for a worker that knows the task: a run the script counted does not count.
      if (scriptClaim(run.scriptClaim, run.dataJson, payload.id, payload.exp) !== undefined) {
        ledger.release(run.queue, payload.id, payload.exp).catch(() => undefined);
      }
      metrics().taskRetried.inc(UNKNOWN_LABEL);
      return Promise.reject(deferred);
    }
    const err = new KlueError('UNKNOWN_TASK', `no task named '${payload.task}' in this worker (it knows: ${taskNames().join(', ') || 'none'})`);
    return runFailed(err, run, payload, store, UNKNOWN_LABEL, started, ledger);
  }
  const plan = runPlan(def, config);
  // A run beyond the attempts the envelope was signed with, and the re-runs of a job whose worker died.
  const maxRuns = payload.o.a + config.async.max_stalled;
  const counted = scriptClaim(run.scriptClaim, run.dataJson, payload.id, payload.exp);
  const claim = counted === undefined ? ledger.claim(run.queue, payload.id, payload.exp) : Promise.resolve(counted);
  return claim.then((n) => {
    if (n === FINISHED) return rejectEnvelope(new KlueError('BAD_ENVELOPE', `envelope ${payload.id} already ran to its end (a replay)`), run);
    if (n > maxRuns) return rejectEnvelope(new KlueError('BAD_ENVELOPE', `envelope ${payload.id} was taken ${n} times, more than its ${payload.o.a} attempts and async.max_stalled (${config.async.max_stalled}) allow`), run);
    run.claimed = { id: payload.id, exp: payload.exp, byScript: counted !== undefined };
    const lastRun = n === maxRuns;
    let running: Promise<unknown>;
    try {
      if (payload.tok !== undefined) ctx.token = openToken(payload.tok, secret, payload.id);
      running = execute(def, plan, payload, run, store);
    } catch (err) {
      // Arguments that do not decode, or a task function that throws before returning a promise.
      store.end();
      return runFailed(err, run, payload, store, plan.label, started, ledger, lastRun);
    }
    // One reaction for the whole outcome: the result is encoded here rather than in a .then of its own.
    return running.then(
      (value) => {
        store.end();
        if (run.released?.aborted) return ranOnAfterRelease(value, run.released, store);
        let result: TaskResult;
        try {
          result = { r: encodeValue(value, def.name, 'result', 'task results') };
        } catch (err) {
          // For good: the task's work is done, and running it again would repeat it to fail the same way.
          return runFailed(new PermanentError((err as Error).message, { cause: err }), run, payload, store, plan.label, started, ledger);
        }
        plan.completed.record((performance.now() - started) / 1000);
        // Recorded as finished by the caller once the job's completion is stored (finishRun): a
        // record written first would make a worker killed in between refuse its own re-run.
        return result;
      },
      (err: unknown) => {
        store.end();
        if (run.released?.aborted) return ranOnAfterRelease(err, run.released, store);
        return runFailed(err, run, payload, store, plan.label, started, ledger, lastRun);
      },
    );
  });
}

/**
 * Records in the ledger that a completed run's envelope finished, once its job's completion is
 * stored. Until then (or if this fails) a copy of the envelope is still refused after
 * attempts + async.max_stalled runs.
 */
export function finishRun(run: JobRun, ledger: RunLedger): void {
  const claimed = run.claimed;
  // A run the script counted was recorded as finished by the script that completed its job.
  if (!claimed || claimed.byScript) return;
  ledger.finish(run.queue, claimed.id, claimed.exp).catch((err: unknown) => {
    rootLogger().error({ err: err instanceof Error ? err.message : String(err), job_id: run.jobId, envelope: claimed.id }, 'async: could not record that a task finished; a copy of its envelope is refused only after its attempts');
  });
}

/**
 * A run that ended after its worker put the job back in the queue (shutdown): the next run is
 * the one that counts, so this one is neither counted nor reported. It rejects, so nothing
 * stores its result either.
 */
function ranOnAfterRelease(outcome: unknown, released: AbortSignal, store: TaskStore): Promise<never> {
  const failed = outcome instanceof Error ? outcome.message : undefined;
  store.log.info({ err: failed }, `async: task ${store.ctx.task.name} ended after its job was put back in the queue; this run does not count`);
  return Promise.reject(released.reason as Error);
}

/** A job whose data is not a valid klue envelope: logged, counted and reported, never retried. */
async function rejectEnvelope(err: unknown, run: JobRun): Promise<never> {
  rootLogger().error({ job_id: run.jobId, job_name: run.jobName, reason: (err as Error).message }, 'async: rejected a job that is not a valid klue envelope; not retried');
  // Labels name only tasks this worker knows: garbage in the queue must not create series.
  metrics().taskFailed.inc({ task: '(bad envelope)' });
  await reportError(toKlueErrorForTask(err, run.jobName), {
    source: 'task',
    context: {},
    task: { name: run.jobName, jobId: run.jobId, attempt: run.attempt, attempts: run.attempts },
  });
  throw err;
}

/**
 * A run that failed: counted, logged, and reported when no retry follows, and then recorded in
 * the ledger as finished. Rejects with `err`; on a last run allowed by the ledger with an error
 * BullMQ would retry, with a PermanentError that carries its message.
 */
async function runFailed(err: unknown, run: JobRun, payload: TaskPayload, store: TaskStore, label: { task: string }, started: number, ledger: RunLedger, lastRun = false): Promise<never> {
  const m = metrics();
  const final = isPermanent(err) || run.attempt >= payload.o.a || lastRun;
  m.taskDuration.observe({ ...label, outcome: final ? 'failed' : 'retried' }, (performance.now() - started) / 1000);
  (final ? m.taskFailed : m.taskRetried).inc(label);
  if (final) {
    const error = toKlueErrorForTask(err, payload.task);
    store.log.error({ err, error_code: error.code, error_id: error.errorId, attempts: run.attempts }, `async: task ${payload.task} failed for good`);
    await reportError(error, {
      source: 'task',
      context: store.ctx,
      task: { name: payload.task, jobId: run.jobId, attempt: run.attempt, attempts: run.attempts },
    });
    // A run the script counted is recorded as finished by the script that fails its job.
    if (run.claimed && !run.claimed.byScript) await ledger.finish(run.queue, payload.id, payload.exp);
    if (!isPermanent(err) && run.attempt < payload.o.a) throw new PermanentError(err instanceof Error ? err.message : String(err), { cause: err });
  } else {
    store.log.warn({ err: err instanceof Error ? err.message : String(err), attempts: run.attempts }, `async: task ${payload.task} failed; will retry`);
  }
  throw err;
}
