import { createHmac, hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KlueError } from '../../core/errors/klue-error.js';
import { checkEnvelopeJob, NewerEnvelope, openEnvelope, sealEnvelope, type JobIdentity, type TaskPayload } from './envelope.js';

const SECRET = 'a-test-secret-of-some-length';
const payload: TaskPayload = { id: 'id-1', svc: 'shop', q: 'default', task: 'sendEmail', args: ['ann', 'héllo'], ctx: { user: { sub: 'u1' } }, at: 1, exp: 10_000, o: { a: 3 } };
/** The reference HMAC under the key of `version`, derived as documented (HKDF-SHA256, salt 'klue'). */
const hmac = (text: string, version = 3, secret = SECRET) =>
  createHmac('sha256', Buffer.from(hkdfSync('sha256', secret, 'klue', `klue envelope v${version}`, 32))).update(text).digest('hex');
const job: JobIdentity = { id: 'id-1', queue: 'default', service: 'shop', attempts: 3, delay: 0, priority: 0, repeated: false };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof KlueError ? `${err.code}: ${err.message}` : `not a KlueError: ${String(err)}`;
  }
  return undefined;
}

/** Opens job data as a worker does: parsed by BullMQ, with the text it was parsed from. */
const open = (stored: string, secret = SECRET, max = 1024) => openEnvelope(JSON.parse(stored), secret, max, stored);

describe('envelope', () => {
  it('seals the payload as JSON inside the job data, signed with HMAC-SHA256 of its text under a key derived for version 3', () => {
    const stored = sealEnvelope(payload, SECRET, 1024);
    const p = JSON.stringify(payload);
    expect(stored).toBe(`{"v":3,"p":${p},"s":"${hmac(p)}"}`);
    expect(open(stored)).toEqual(payload);
    // Without the stored text (a job read back through BullMQ's API), the payload is serialised again.
    expect(openEnvelope(JSON.parse(stored), SECRET, 1024)).toEqual(payload);
  });

  it('verifies without the stored text whatever JSON the payload holds: JSON.stringify undoes JSON.parse', () => {
    const tricky = JSON.parse(
      '{"id":"x","svc":"s","q":"default","task":"t","args":[1e21,-0,0.1,1.5e-7,9007199254740993,"\\ud800","\\u2028\\u0000\\"\\\\","é✓😀",[null,true,{}],' +
        '{"2":"b","1":"a","z":1,"__proto__":{"polluted":true},"constructor":null}],"ctx":{"user":{"sub":"u"}},"at":1,"exp":2,"o":{"a":1}}',
    ) as TaskPayload;
    const stored = sealEnvelope(tricky, SECRET, 1 << 16);
    // What BullMQ does to data on the queue.addBulk path: parse, then serialise again.
    const reserialised = JSON.stringify(JSON.parse(stored));
    expect(reserialised).toBe(stored);
    // What a task receives is the payload after one JSON round trip (-0 becomes 0), either way.
    const received: unknown = JSON.parse(JSON.stringify(tricky));
    expect(openEnvelope(JSON.parse(reserialised), SECRET, 1 << 16)).toEqual(received);
    expect(open(stored, SECRET, 1 << 16)).toEqual(received);
  });

  it('refuses versions 1 and 2, which carried no job binding or expiry, even correctly signed', () => {
    const p = JSON.stringify(payload);
    // As klue 0.1 signed them: the HMAC keyed with the secret itself.
    const old = createHmac('sha256', SECRET).update(p).digest('hex');
    expect(codeOf(() => openEnvelope({ v: 1, p, s: old }, SECRET, 1024))).toMatch(/^BAD_ENVELOPE: envelope version 1 was written by a klue without replay protection/);
    expect(codeOf(() => open(`{"v":2,"p":${p},"s":"${old}"}`))).toMatch(/^BAD_ENVELOPE: envelope version 2 was written by a klue without replay protection/);
  });

  it('checks the signature before believing the version: an unsigned envelope claiming a newer one is just bad', () => {
    const p = JSON.stringify(payload);
    expect(codeOf(() => open(`{"v":4,"p":${p},"s":"${'0'.repeat(64)}"}`))).toMatch(/^BAD_ENVELOPE: bad signature/);
    expect(codeOf(() => open(`{"v":4,"p":${p},"s":"${hmac(p, 3)}"}`))).toMatch(/^BAD_ENVELOPE: bad signature/);
    let newer: unknown;
    try {
      open(`{"v":4,"p":${p},"s":"${hmac(p, 4)}"}`);
    } catch (err) {
      newer = err;
    }
    expect(newer).toBeInstanceOf(NewerEnvelope);
    expect((newer as NewerEnvelope).version).toBe(4);
    expect((newer as NewerEnvelope).queuedAt).toBe(payload.at);
  });

  it('rejects tampered, unsigned, foreign-key and malformed envelopes', () => {
    const stored = sealEnvelope(payload, SECRET, 1024);
    const tampered = stored.replace('"u1"', '"admin"');
    expect(codeOf(() => open(tampered))).toMatch(/^BAD_ENVELOPE: bad signature/);
    expect(codeOf(() => openEnvelope(JSON.parse(tampered), SECRET, 1024))).toMatch(/^BAD_ENVELOPE: bad signature/);
    expect(codeOf(() => open(stored, 'another-secret-entirely'))).toMatch(/^BAD_ENVELOPE: bad signature/);
    const data = JSON.parse(stored) as { v: number; p: unknown; s: string };
    expect(codeOf(() => openEnvelope({ v: 3, p: data.p }, SECRET, 1024))).toBe('BAD_ENVELOPE: envelope is not signed');
    expect(codeOf(() => openEnvelope({ ...data, s: data.s.toUpperCase() }, SECRET, 1024))).toMatch(/^BAD_ENVELOPE: bad signature/);
    expect(codeOf(() => openEnvelope({ v: 3, s: data.s }, SECRET, 1024))).toBe('BAD_ENVELOPE: envelope has no payload');
    expect(codeOf(() => openEnvelope({ ...data, v: 'x' }, SECRET, 1024))).toBe('BAD_ENVELOPE: unsupported envelope version "x"');
    expect(codeOf(() => openEnvelope('text', SECRET, 1024))).toMatch(/^BAD_ENVELOPE: job data is not a klue envelope/);
    expect(codeOf(() => openEnvelope({ args: [] }, SECRET, 1024))).toMatch(/^BAD_ENVELOPE/);
    // A validly signed payload inside data of another layout never passes: what lies between the
    // fixed head and tail is what must carry the signature.
    const p = JSON.stringify(payload);
    for (const other of [`{"v":3,"x":0,"p":${p},"s":"${hmac(p)}"}`, `{"v":3, "p":${p},"s":"${hmac(p)}"}`, `{"v":3,"p":${p},"s":"${hmac(p)}","x":0}`]) {
      expect(codeOf(() => open(other))).toBe('BAD_ENVELOPE: envelope is not in the form klue writes');
    }
    expect(codeOf(() => open(`{"v":3,"p":${p},"x":{"p":{}},"s":"${hmac(p)}"}`))).toMatch(/^BAD_ENVELOPE: bad signature/);
  });

  it('rejects a correctly signed payload that lacks fields', () => {
    expect(codeOf(() => open(`{"v":3,"p":{"task":"x"},"s":"${hmac('{"task":"x"}')}"}`))).toBe('BAD_ENVELOPE: payload lacks id, svc, q, task, args, ctx, at, exp or o');
  });

  it('refuses oversized payloads at sealing and at opening', () => {
    const big: TaskPayload = { ...payload, args: ['é'.repeat(600)] };
    expect(codeOf(() => sealEnvelope(big, SECRET, 1024))).toMatch(
      /^ASYNC_PAYLOAD_TOO_LARGE: sendEmail: the task call is \d+ bytes, more than async.max_payload \(1024\)/,
    );
    const stored = sealEnvelope(big, SECRET, 10_000);
    expect(codeOf(() => open(stored))).toMatch(/^BAD_ENVELOPE: payload is \d+ bytes, more than async.max_payload/);
    expect(codeOf(() => openEnvelope(JSON.parse(stored), SECRET, 1024))).toMatch(/^BAD_ENVELOPE: payload is \d+ bytes, more than async.max_payload/);
  });
});

describe('checkEnvelopeJob', () => {
  it('passes the job the envelope was signed for', () => {
    expect(codeOf(() => checkEnvelopeJob(payload, job, 5_000))).toBeUndefined();
    expect(codeOf(() => checkEnvelopeJob({ ...payload, job: 'chosen', o: { a: 2, d: 500, p: 7 } }, { ...job, id: 'chosen', attempts: 2, delay: 500, priority: 7 }, 5_000))).toBeUndefined();
  });

  it('refuses a copy in another job, queue or service, changed options and a repeat', () => {
    expect(codeOf(() => checkEnvelopeJob(payload, { ...job, id: 'id-2' }, 0))).toBe('BAD_ENVELOPE: signed for job id-1, found in job id-2 (a copied envelope)');
    expect(codeOf(() => checkEnvelopeJob(payload, { ...job, queue: 'reports' }, 0))).toBe("BAD_ENVELOPE: signed for queue 'default', found in queue 'reports'");
    expect(codeOf(() => checkEnvelopeJob(payload, { ...job, service: 'other' }, 0))).toBe("BAD_ENVELOPE: signed for service 'shop', taken by a worker of 'other'");
    expect(codeOf(() => checkEnvelopeJob(payload, { ...job, attempts: 1_000_000 }, 0))).toMatch(/^BAD_ENVELOPE: the job's options \(attempts 1000000, delay 0, priority 0\) differ from the signed ones \(3, 0, 0\)/);
    expect(codeOf(() => checkEnvelopeJob(payload, { ...job, delay: 10 }, 0))).toMatch(/^BAD_ENVELOPE: the job's options/);
    expect(codeOf(() => checkEnvelopeJob(payload, { ...job, priority: 1 }, 0))).toMatch(/^BAD_ENVELOPE: the job's options/);
    expect(codeOf(() => checkEnvelopeJob(payload, { ...job, repeated: true }, 0))).toMatch(/^BAD_ENVELOPE: the job repeats/);
  });

  it('refuses an envelope past its expiry with TASK_EXPIRED', () => {
    expect(codeOf(() => checkEnvelopeJob(payload, job, 10_001))).toMatch(/^TASK_EXPIRED: sendEmail: queued at 1970-01-01T00:00:00.001Z, expired at 1970-01-01T00:00:10.000Z/);
  });
});
