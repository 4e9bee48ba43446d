import type { KlueContext } from '../context/context.js';
import { KlueError } from '../errors/klue-error.js';
import { HmacSha256 } from './hmac.js';

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

/*
 * The data of every klue job is an envelope: the payload and the HMAC-SHA256 of its JSON text,
 * so workers run only what klue queued.
 *
 * Version 2 (written): `{"v":2,"p":<payload JSON>,"s":"<hex HMAC of that JSON>"}`, built by
 * concatenation. The payload sits in the job data as JSON, not as a JSON string inside it, so
 * it is serialised once and never escaped, and a worker, which has the data exactly as stored,
 * checks the signature on that text and takes the payload BullMQ has already parsed.
 * Version 1 (read, for jobs queued before v2): `{v: 1, p: <payload JSON as a string>, s}`.
 */
const V2_HEAD = '{"v":2,"p":';
/** The newest envelope version this code reads (and the one it writes). */
const VERSION = 2;
/** `,"s":"` + 64 hex digits + `"}` */
const V2_TAIL_LENGTH = 72;

// The signer of the last secret used: a process has one.
let lastSecret: string | undefined;
let lastSigner: HmacSha256 | undefined;

/** Hex HMAC-SHA256 of the payload's text. */
function sign(text: string, secret: string): string {
  if (secret !== lastSecret || !lastSigner) {
    lastSigner = new HmacSha256(secret);
    lastSecret = secret;
  }
  return lastSigner.hex(text);
}

/**
 * Compares a signature with the expected one in time that does not depend on where they differ.
 * On the two strings rather than through timingSafeEqual: that needs two Buffers per job.
 */
function sameSignature(given: string, expected: string): boolean {
  if (given.length !== expected.length) return false;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) diff |= given.charCodeAt(i) ^ expected.charCodeAt(i);
  return diff === 0;
}

/** UTF-8 size of `s`, without encoding it when its length alone proves it is small enough. */
function utf8Size(s: string, limit: number): number {
  return s.length * 3 <= limit ? s.length : Buffer.byteLength(s);
}

function checkSize(text: string, maxPayload: number): void {
  const size = utf8Size(text, maxPayload);
  if (size > maxPayload) bad(`payload is ${size} bytes, more than async.max_payload (${maxPayload})`);
}

/**
 * Serialises and signs a payload (JSON once, HMAC once) into the job data's JSON text.
 * Throws ASYNC_PAYLOAD_TOO_LARGE over `maxPayload` bytes.
 */
export function sealEnvelope(payload: TaskPayload, secret: string, maxPayload: number): string {
  const p = JSON.stringify(payload);
  const size = utf8Size(p, maxPayload);
  if (size > maxPayload) {
    throw new KlueError(
      'ASYNC_PAYLOAD_TOO_LARGE',
      `${payload.task}: the task call is ${size} bytes, more than async.max_payload (${maxPayload}); pass ids or URLs rather than large data`,
      { details: { task: payload.task, size, max_payload: maxPayload } },
    );
  }
  return `${V2_HEAD}${p},"s":"${sign(p, secret)}"}`;
}

/** The version of an envelope newer than this code reads (written by a newer klue), else undefined. */
export function newerEnvelopeVersion(data: unknown): number | undefined {
  const v = isRecord(data) ? data.v : undefined;
  return typeof v === 'number' && Number.isInteger(v) && v > VERSION ? v : undefined;
}

function bad(reason: string): never {
  throw new KlueError('BAD_ENVELOPE', reason);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The signed text of a v2 envelope. From `dataJson`, the data's JSON as stored in Redis, when
 * it is the parse source of `data`: its head and tail are fixed, so what lies between is the
 * payload's text exactly. Otherwise the payload's JSON again: V8's JSON.stringify of what
 * JSON.parse made of its own output is that output, character for character.
 */
function signedText(data: Record<string, unknown>, s: string, dataJson: string | undefined): string {
  if (dataJson === undefined) return JSON.stringify(data.p);
  if (!dataJson.startsWith(V2_HEAD) || dataJson.length < V2_HEAD.length + V2_TAIL_LENGTH || !dataJson.endsWith(`,"s":"${s}"}`)) {
    bad('envelope is not in the form klue writes');
  }
  return dataJson.slice(V2_HEAD.length, -V2_TAIL_LENGTH);
}

/** Checks a v1 or v2 envelope's size and signature and returns the payload, not yet checked for shape. */
function verified(data: Record<string, unknown>, secret: string, maxPayload: number, dataJson: string | undefined): unknown {
  const { v, p, s } = data;
  if (v !== 1 && v !== VERSION) bad(`unsupported envelope version ${JSON.stringify(v)}`);
  // Not checked for hex digits (a regular expression costs as much as the digest): any other
  // character fails the comparison with the expected signature anyway.
  if (typeof s !== 'string' || s.length !== 64) bad('envelope is not signed');
  // Version 1 signs the payload string it holds; version 2 the payload's text in the data.
  if (v === 1 ? typeof p !== 'string' : p === undefined) bad('envelope has no payload');
  const text = v === 1 ? (p as string) : signedText(data, s, dataJson);
  checkSize(text, maxPayload);
  if (!sameSignature(s, sign(text, secret))) bad('bad signature (tampered, or signed with another async.secret)');
  if (v === VERSION) return p;
  try {
    return JSON.parse(text);
  } catch (err) {
    bad(`payload is not JSON: ${(err as Error).message}`);
  }
}

/**
 * Checks size, signature and shape of a job's data and returns its payload. Anything else
 * (unsigned, tampered, unparsable, oversized) is a BAD_ENVELOPE error giving the reason.
 * `dataJson` is the data's JSON text as stored, when the caller has it (a worker does):
 * checking the signature on it spares serialising the payload again.
 */
export function openEnvelope(data: unknown, secret: string, maxPayload: number, dataJson?: string): TaskPayload {
  if (!isRecord(data)) bad('job data is not a klue envelope (not an object)');
  const payload = verified(data, secret, maxPayload, dataJson);
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
