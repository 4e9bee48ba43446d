/** Methods a server may receive twice without harm (RFC 9110): retried when the connection broke. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method.toUpperCase());
}

/** Error codes that say the request never reached the server: retrying cannot run it twice. */
const NOTHING_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/** Error codes of a connection that broke (or never opened): the server may or may not have the request. */
const CONNECTION = new Set([...NOTHING_SENT, 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

function codeOf(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
  if (typeof e?.code === 'string' && e.code !== 'UND_ERR_SOCKET') return e.code;
  // undici's SocketError wraps the system error of a broken socket
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  return typeof e?.code === 'string' ? e.code : undefined;
}

/** The kind of failure a thrown error is: no connection, a broken one, or something else. */
export function connectionFailure(err: unknown): 'not-sent' | 'broken' | undefined {
  const code = codeOf(err);
  if (code === undefined) return undefined;
  if (NOTHING_SENT.has(code)) return 'not-sent';
  return CONNECTION.has(code) ? 'broken' : undefined;
}

/** Whether a call that failed with `failure` may be sent again. */
export function retryable(failure: 'not-sent' | 'broken', method: string): boolean {
  return failure === 'not-sent' || isIdempotent(method);
}

/** Delay before retry `n` (1 for the first): `backoff` doubling each retry, times a jitter in [0.5, 1). */
export function retryDelay(backoff: number, n: number): number {
  return Math.round(backoff * 2 ** (n - 1) * (0.5 + Math.random() / 2));
}
