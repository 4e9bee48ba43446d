import type { KlueContext } from '../../core/context/context.js';
import { KlueError } from '../../core/errors/klue-error.js';
import { envelopeSigningKey } from './envelope-keys.js';
import { HmacSha256 } from './hmac.js';

/** The job options that change what runs, as the caller asked for them: the job's own must match. */
export interface SignedOptions {
  /** Attempts, first run included. */
  a: number;
  /** Delay in ms before the first run, when there is one. */
  d?: number;
  /** BullMQ priority, when there is one. */
  p?: number;
}

/** One queued task call, as signed into an envelope. */
export interface TaskPayload {
  /** Unique id of this call; also its job id unless the caller chose one (`job`). */
  id: string;
  /** The job id the caller chose (`task.with({ jobId })`), when it did. */
  job?: string;
  /** The service (async.queue) that queued it: another service's workers refuse it. */
  svc: string;
  /** The queue within the service. */
  q: string;
  task: string;
  /** Arguments in the codec's encoded form. */
  args: unknown[];
  /** The caller's context, without `task` and without the bearer token (see `tok`). */
  ctx: KlueContext;
  /** The caller's bearer token, encrypted (token-cipher.ts), when there was one. */
  tok?: string;
  /** Enqueue time, ms since the epoch. */
  at: number;
  /** Past this (ms since the epoch) the envelope is refused: at + delay + async.max_task_age. */
  exp: number;
  o: SignedOptions;
}

/** The job an envelope was found in, as the worker sees it: compared with what the envelope says. */
export interface JobIdentity {
  id: string;
  /** The queue within the service. */
  queue: string;
  /** async.queue of the service whose worker took the job. */
  service: string;
  attempts: number;
  delay: number;
  priority: number;
  /** The job was made by a repeat option or a job scheduler. */
  repeated: boolean;
}

/*
 * The data of every klue job is an envelope: the payload and the HMAC-SHA256 of its JSON text.
 *
 * `{"v":<version>,"p":<payload JSON>,"s":"<hex HMAC of that JSON>"}`, built by concatenation,
 * signed with a key derived from async.secret for that version (envelope-keys.ts). Every version
 * keeps this head, this tail and this key derivation: a worker checks the signature of any
 * envelope, also one newer than it reads, before it trusts a byte of it. The payload sits in the
 * job data as JSON, so it is serialised once and never escaped, and a worker, which has the data
 * exactly as stored, checks the signature on that text and takes the payload BullMQ parsed.
 *
 * Version 3 binds the envelope to one job and one run of it: the job id, queue and service, the
 * job options that change what runs and an expiry are signed, and workers record in Redis what
 * has run (transport/run-ledger.ts). Versions 1 and 2 had none of this and are refused.
 */
export const ENVELOPE_VERSION = 3;
/** `,"s":"` + 64 hex digits + `"}` */
const TAIL_LENGTH = 72;
const HEAD = /^\{"v":([1-9]\d{0,5}),"p":/;

// The signer of the last secret and version used: a process has one of each, mostly.
let lastKey: string | undefined;
let lastSigner: HmacSha256 | undefined;

/** Hex HMAC-SHA256 of the payload's text under the key of `version`. */
function sign(text: string, secret: string, version: number): string {
  const id = `${version}\n${secret}`;
  if (id !== lastKey || !lastSigner) {
    lastSigner = new HmacSha256(envelopeSigningKey(secret, version));
    lastKey = id;
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
  return `{"v":${ENVELOPE_VERSION},"p":${p},"s":"${sign(p, secret, ENVELOPE_VERSION)}"}`;
}

/** A correctly signed envelope of a version newer than this code reads (a newer klue queued it). */
export class NewerEnvelope extends KlueError {
  constructor(
    readonly version: number,
    /** The payload's enqueue time when it has one where this version has it; signed, so trusted. */
    readonly queuedAt: number | undefined,
  ) {
    super('BAD_ENVELOPE', `envelope version ${version} is newer than this worker reads (${ENVELOPE_VERSION})`);
  }
}

function bad(reason: string): never {
  throw new KlueError('BAD_ENVELOPE', reason);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The signed text: from `dataJson`, the data's JSON as stored in Redis, when it is the parse
 * source of `data` (its head and tail are fixed, so what lies between is the payload's text
 * exactly); otherwise the payload's JSON again: V8's JSON.stringify of what JSON.parse made of
 * its own output is that output, character for character.
 */
function signedText(data: Record<string, unknown>, s: string, dataJson: string | undefined): { version: number; text: string } {
  if (dataJson === undefined) {
    const v = data.v;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) bad(`unsupported envelope version ${JSON.stringify(v)}`);
    return { version: v, text: JSON.stringify(data.p) };
  }
  const head = HEAD.exec(dataJson);
  if (!head || dataJson.length < head[0].length + TAIL_LENGTH || !dataJson.endsWith(`,"s":"${s}"}`)) bad('envelope is not in the form klue writes');
  return { version: Number(head[1]), text: dataJson.slice(head[0].length, -TAIL_LENGTH) };
}

/**
 * Checks size and signature of a job's data, then its version and shape, and returns its
 * payload: nothing in the envelope is believed before its signature is checked. Anything else
 * (unsigned, tampered, unparsable, oversized, an older version) is a BAD_ENVELOPE error giving
 * the reason; a signed envelope of a newer version is a NewerEnvelope. `dataJson` is the data's
 * JSON text as stored, when the caller has it (a worker does): checking the signature on it
 * spares serialising the payload again.
 */
export function openEnvelope(data: unknown, secret: string, maxPayload: number, dataJson?: string): TaskPayload {
  if (!isRecord(data)) bad('job data is not a klue envelope (not an object)');
  const { p, s } = data;
  // Not checked for hex digits (a regular expression costs as much as the digest): any other
  // character fails the comparison with the expected signature anyway.
  if (typeof s !== 'string' || s.length !== 64) bad('envelope is not signed');
  if (p === undefined) bad('envelope has no payload');
  const { version, text } = signedText(data, s, dataJson);
  // Refusing needs no trust: an older version is refused before its signature is checked.
  if (version < ENVELOPE_VERSION) bad(`envelope version ${version} was written by a klue without replay protection; queue the task again`);
  const size = utf8Size(text, maxPayload);
  if (size > maxPayload) bad(`payload is ${size} bytes, more than async.max_payload (${maxPayload})`);
  if (!sameSignature(s, sign(text, secret, version))) bad('bad signature (tampered, or signed with another async.secret)');
  if (version > ENVELOPE_VERSION) throw new NewerEnvelope(version, isRecord(p) && typeof p.at === 'number' ? p.at : undefined);
  if (
    !isRecord(p) ||
    typeof p.id !== 'string' ||
    typeof p.svc !== 'string' ||
    typeof p.q !== 'string' ||
    typeof p.task !== 'string' ||
    !Array.isArray(p.args) ||
    !isRecord(p.ctx) ||
    typeof p.at !== 'number' ||
    typeof p.exp !== 'number' ||
    !isRecord(p.o) ||
    typeof p.o.a !== 'number'
  ) {
    bad('payload lacks id, svc, q, task, args, ctx, at, exp or o');
  }
  return p as unknown as TaskPayload;
}

/** The job id an envelope was signed for. */
export function signedJobId(payload: TaskPayload): string {
  return payload.job ?? payload.id;
}

/**
 * Checks that the job holding an envelope is the one it was signed for, with the options it was
 * signed with, and that it has not expired: a copy of an envelope in another job, queue or
 * service, a job whose options were changed in Redis, or one a repeat or job scheduler made,
 * is BAD_ENVELOPE; an envelope past its expiry is TASK_EXPIRED.
 */
export function checkEnvelopeJob(payload: TaskPayload, job: JobIdentity, now: number): void {
  const signedId = signedJobId(payload);
  if (payload.svc !== job.service) bad(`signed for service '${payload.svc}', taken by a worker of '${job.service}'`);
  if (payload.q !== job.queue) bad(`signed for queue '${payload.q}', found in queue '${job.queue}'`);
  if (signedId !== job.id) bad(`signed for job ${signedId}, found in job ${job.id} (a copied envelope)`);
  if (job.repeated) bad('the job repeats (a repeat option or job scheduler the envelope did not ask for)');
  const o = payload.o;
  if (job.attempts !== o.a || job.delay !== (o.d ?? 0) || job.priority !== (o.p ?? 0)) {
    bad(`the job's options (attempts ${job.attempts}, delay ${job.delay}, priority ${job.priority}) differ from the signed ones (${o.a}, ${o.d ?? 0}, ${o.p ?? 0})`);
  }
  if (now > payload.exp) {
    throw new KlueError('TASK_EXPIRED', `${payload.task}: queued at ${new Date(payload.at).toISOString()}, expired at ${new Date(payload.exp).toISOString()} (async.max_task_age); not run`);
  }
}
