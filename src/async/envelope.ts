import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { KlueContext } from '../context/context.js';
import { KlueError } from '../errors/klue-error.js';

/** One queued task call, as signed into an envelope. */
export interface TaskPayload {
  /** Unique id of this call (not the job id, which a caller may choose). */
  id: string;
  task: string;
  /** Arguments in the codec's encoded form. */
  args: unknown[];
  /** The caller's context, without `task`. */
  ctx: KlueContext;
  /** Enqueue time, ms since the epoch. */
  at: number;
}

/** The data of every klue job: the payload JSON and its HMAC-SHA256, so workers run only what klue queued. */
export interface Envelope {
  v: 1;
  p: string;
  s: string;
}

// A KeyObject per secret: createHmac with a string key prepares the key again on every call.
let lastSecret: string | undefined;
let lastKey: KeyObject | undefined;
function hmacKey(secret: string): KeyObject {
  if (secret !== lastSecret || !lastKey) {
    lastKey = createSecretKey(Buffer.from(secret, 'utf8'));
    lastSecret = secret;
  }
  return lastKey;
}

function mac(p: string, secret: string): Buffer {
  return createHmac('sha256', hmacKey(secret)).update(p).digest();
}

function sign(p: string, secret: string): string {
  return mac(p, secret).toString('hex');
}

/** UTF-8 size of `s`, without encoding it when its length alone proves it is small enough. */
function utf8Size(s: string, limit: number): number {
  return s.length * 3 <= limit ? s.length : Buffer.byteLength(s);
}

/** Serialises and signs a payload (JSON once, HMAC once). Throws ASYNC_PAYLOAD_TOO_LARGE over `maxPayload` bytes. */
export function sealEnvelope(payload: TaskPayload, secret: string, maxPayload: number): Envelope {
  const p = JSON.stringify(payload);
  const size = utf8Size(p, maxPayload);
  if (size > maxPayload) {
    throw new KlueError(
      'ASYNC_PAYLOAD_TOO_LARGE',
      `${payload.task}: the task call is ${size} bytes, more than async.max_payload (${maxPayload}); pass ids or URLs rather than large data`,
      { details: { task: payload.task, size, max_payload: maxPayload } },
    );
  }
  return { v: 1, p, s: sign(p, secret) };
}

function bad(reason: string): never {
  throw new KlueError('BAD_ENVELOPE', reason);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Checks size, signature and shape of a job's data and returns its payload. Anything else
 * (unsigned, tampered, unparsable, oversized) is a BAD_ENVELOPE error giving the reason.
 */
export function openEnvelope(data: unknown, secret: string, maxPayload: number): TaskPayload {
  if (!isRecord(data)) bad('job data is not a klue envelope (not an object)');
  const { v, p, s } = data;
  if (v !== 1) bad(`unsupported envelope version ${JSON.stringify(v)}`);
  if (typeof p !== 'string') bad('envelope has no payload');
  // Hex decoding stops at the first character that is not hex, so 32 bytes from 64 characters
  // proves a well-formed signature (a regular expression test cost as much as the HMAC's digest).
  const signature = typeof s === 'string' && s.length === 64 ? Buffer.from(s, 'hex') : undefined;
  if (signature?.length !== 32) bad('envelope is not signed');
  const size = utf8Size(p, maxPayload);
  if (size > maxPayload) bad(`payload is ${size} bytes, more than async.max_payload (${maxPayload})`);
  if (!timingSafeEqual(signature, mac(p, secret))) {
    bad('bad signature (tampered, or signed with another async.secret)');
  }
  let payload: unknown;
  try {
    payload = JSON.parse(p);
  } catch (err) {
    bad(`payload is not JSON: ${(err as Error).message}`);
  }
  if (
    !isRecord(payload) ||
    typeof payload.id !== 'string' ||
    typeof payload.task !== 'string' ||
    !Array.isArray(payload.args) ||
    !isRecord(payload.ctx) ||
    typeof payload.at !== 'number'
  ) {
    bad('payload lacks id, task, args, ctx or at');
  }
  return payload as unknown as TaskPayload;
}
