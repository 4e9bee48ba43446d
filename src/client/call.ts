import { SpanStatusCode, type Span } from '@opentelemetry/api';
import type { Dispatcher } from 'undici';
import { taskSignal } from '../core/context/context.js';
import { KlueError } from '../core/errors/klue-error.js';
import { log } from '../core/log/logger.js';
import type { ClientCallOptions } from '../spec/api-pool.js';
import { clientMetrics } from './client-metrics.js';
import type { ClientOperation } from './client-operation.js';
import { addContextHeaders } from './context-headers.js';
import { poolFor } from './pool.js';
import { answerError, readBody, successBody } from './response.js';
import { RemoteError } from './remote-error.js';
import { outgoingRequest, type OutgoingRequest } from './request-parts.js';
import { connectionFailure, retryable, retryDelay } from './retry.js';

/** An answer read in full: its status and body text. */
interface Answer {
  status: number;
  text: string;
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function upstream(plan: ClientOperation, code: 'UPSTREAM_UNAVAILABLE' | 'UPSTREAM_TIMEOUT', what: string, cause?: unknown): KlueError {
  return new KlueError(code, `${plan.where}: ${what}`, { cause, details: { ...plan.labels, url: plan.config.url } });
}

/** The signal that aborts a call: the call's own, and inside a task the run's (its timeout, its worker's shutdown). */
function callSignal(options: ClientCallOptions | undefined): AbortSignal | undefined {
  const own = options?.signal;
  const task = taskSignal();
  if (own && task) return AbortSignal.any([own, task]);
  return own ?? task;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Sends the request and reads the answer, retrying a connection failure (with backoff and
 * jitter) when the request cannot have reached the server or its method is idempotent, as
 * long as the retry fits in the call's time. An answer is never retried, whatever its status.
 */
async function exchange(plan: ClientOperation, req: OutgoingRequest, headers: Record<string, string>, timeout: number, signal: AbortSignal | undefined): Promise<Answer> {
  const { retries, retry_backoff: backoff } = plan.config;
  const deadline = performance.now() + timeout;
  for (let retry = 0; ; retry++) {
    const remaining = Math.ceil(deadline - performance.now());
    if (remaining <= 0) throw upstream(plan, 'UPSTREAM_TIMEOUT', `no answer within ${timeout} ms`);
    const pending = poolFor(plan.config);
    const pool: Dispatcher = pending instanceof Promise ? await pending : pending;
    try {
      const res = await pool.request({ path: req.path, method: plan.method, headers, body: req.body, signal, headersTimeout: remaining, bodyTimeout: remaining });
      return { status: res.statusCode, text: await readBody(plan, res) };
    } catch (err) {
      if (err instanceof KlueError) throw err;
      if (signal?.aborted) throw signal.reason;
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && TIMEOUT_CODES.has(code)) throw upstream(plan, 'UPSTREAM_TIMEOUT', `no answer within ${timeout} ms`, err);
      const failure = connectionFailure(err);
      if (failure === undefined) throw upstream(plan, 'UPSTREAM_UNAVAILABLE', (err as Error).message, err);
      const delay = retryDelay(backoff, retry + 1);
      if (retry >= retries || !retryable(failure, plan.method) || performance.now() + delay >= deadline) {
        throw upstream(plan, 'UPSTREAM_UNAVAILABLE', `${(err as Error).message} (${retry + 1} attempt${retry === 0 ? '' : 's'})`, err);
      }
      await sleep(delay);
    }
  }
}

function statusLabel(err: unknown, answered: number | undefined): string {
  if (answered !== undefined) return String(answered);
  const remote = err instanceof KlueError ? err.details.remote_status : undefined;
  if (typeof remote === 'number') return String(remote);
  if (err instanceof KlueError && err.code === 'UPSTREAM_TIMEOUT') return 'timeout';
  if (err instanceof KlueError && err.code === 'UPSTREAM_UNAVAILABLE') return 'unavailable';
  return 'aborted';
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : typeof err === 'string' ? err : 'aborted');

function finish(plan: ClientOperation, started: number, status: string, span: Span | undefined, err?: unknown): void {
  const seconds = (performance.now() - started) / 1000;
  const m = clientMetrics();
  const labels = { ...plan.labels, status };
  m.requests.inc(labels);
  m.duration.observe(labels, seconds);
  const fields = { api: plan.api, operation: plan.name, status, ms: Math.round(seconds * 1000) };
  if (err === undefined) log().debug(fields, 'client call');
  else {
    const e = err instanceof KlueError ? err : undefined;
    const line = { ...fields, code: e?.code, error_id: e?.errorId, remote_code: (e as RemoteError | undefined)?.remoteCode, remote_error_id: (e as RemoteError | undefined)?.remoteErrorId };
    // A remote 4xx is the caller's to handle; no answer, or a 5xx, is a fault of the other side.
    if (e instanceof RemoteError && e.status < 500) log().info(line, `client call failed: ${e.message}`);
    else log().warn(line, `client call failed: ${messageOf(err)}`);
  }
  if (span) {
    span.setAttribute('http.response.status_code', Number(status) || 0);
    if (err !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: messageOf(err) });
    span.end();
  }
}

/**
 * One client call: the input checked against the spec (a bad one fails with BAD_CLIENT_CALL and
 * sends nothing), the context's headers added, the answer read, checked and made models, or
 * turned into the error the other service answered.
 */
export async function callOperation(plan: ClientOperation, input: unknown, options?: ClientCallOptions): Promise<unknown> {
  const req = outgoingRequest(plan, input);
  const headers: Record<string, string> = { accept: 'application/json', ...plan.staticHeaders, ...req.headers };
  if (options?.headers) for (const [k, v] of Object.entries(options.headers)) headers[k.toLowerCase()] = v;
  const span = addContextHeaders(plan, options, headers);
  const started = performance.now();
  let answered: number | undefined;
  try {
    const answer = await exchange(plan, req, headers, options?.timeout ?? plan.config.timeout, callSignal(options));
    answered = answer.status;
    if (answer.status < 200 || answer.status >= 300) throw answerError(plan, answer.status, answer.text);
    const body = successBody(plan, answer.status, answer.text);
    finish(plan, started, String(answer.status), span);
    return body;
  } catch (err) {
    finish(plan, started, statusLabel(err, answered), span, err);
    throw err;
  }
}
