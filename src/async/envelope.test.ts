import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KlueError } from '../errors/klue-error.js';
import { openEnvelope, sealEnvelope, type TaskPayload } from './envelope.js';

const SECRET = 'a-test-secret-of-some-length';
const payload: TaskPayload = { id: 'id-1', task: 'sendEmail', args: ['ann', 'héllo'], ctx: { user: { sub: 'u1' } }, at: 1 };
const hmac = (text: string, secret = SECRET) => createHmac('sha256', secret).update(text).digest('hex');

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
  it('seals the payload as JSON inside the job data, signed with HMAC-SHA256 of its text', () => {
    const stored = sealEnvelope(payload, SECRET, 1024);
    const p = JSON.stringify(payload);
    expect(stored).toBe(`{"v":2,"p":${p},"s":"${hmac(p)}"}`);
    expect(open(stored)).toEqual(payload);
    // Without the stored text (a job read back through BullMQ's API), the payload is serialised again.
    expect(openEnvelope(JSON.parse(stored), SECRET, 1024)).toEqual(payload);
  });

  it('verifies without the stored text whatever JSON the payload holds: JSON.stringify undoes JSON.parse', () => {
    const tricky = JSON.parse(
      '{"id":"x","task":"t","args":[1e21,-0,0.1,1.5e-7,9007199254740993,"\\ud800","\\u2028\\u0000\\"\\\\","é✓😀",[null,true,{}],' +
        '{"2":"b","1":"a","z":1,"__proto__":{"polluted":true},"constructor":null}],"ctx":{"user":{"sub":"u"}},"at":1}',
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

  it('still opens version 1 envelopes, queued before version 2', () => {
    const p = JSON.stringify(payload);
    const v1 = { v: 1, p, s: hmac(p) };
    expect(openEnvelope(v1, SECRET, 1024)).toEqual(payload);
    expect(open(JSON.stringify(v1))).toEqual(payload);
    expect(codeOf(() => openEnvelope({ ...v1, p: p.replace('"u1"', '"admin"') }, SECRET, 1024))).toMatch(/^BAD_ENVELOPE: bad signature/);
    expect(codeOf(() => openEnvelope({ v: 1, s: hmac('') }, SECRET, 1024))).toBe('BAD_ENVELOPE: envelope has no payload');
  });

  it('rejects tampered, unsigned, foreign-key and malformed envelopes', () => {
    const stored = sealEnvelope(payload, SECRET, 1024);
    const tampered = stored.replace('"u1"', '"admin"');
    expect(codeOf(() => open(tampered))).toMatch(/^BAD_ENVELOPE: bad signature/);
    expect(codeOf(() => openEnvelope(JSON.parse(tampered), SECRET, 1024))).toMatch(/^BAD_ENVELOPE: bad signature/);
    expect(codeOf(() => open(stored, 'another-secret-entirely'))).toMatch(/^BAD_ENVELOPE: bad signature/);
    const data = JSON.parse(stored) as { v: number; p: unknown; s: string };
    expect(codeOf(() => openEnvelope({ v: 2, p: data.p }, SECRET, 1024))).toBe('BAD_ENVELOPE: envelope is not signed');
    expect(codeOf(() => openEnvelope({ ...data, s: data.s.toUpperCase() }, SECRET, 1024))).toMatch(/^BAD_ENVELOPE: bad signature/);
    expect(codeOf(() => openEnvelope({ v: 2, s: data.s }, SECRET, 1024))).toBe('BAD_ENVELOPE: envelope has no payload');
    expect(codeOf(() => openEnvelope({ ...data, v: 3 }, SECRET, 1024))).toBe('BAD_ENVELOPE: unsupported envelope version 3');
    expect(codeOf(() => openEnvelope('text', SECRET, 1024))).toMatch(/^BAD_ENVELOPE: job data is not a klue envelope/);
    expect(codeOf(() => openEnvelope({ args: [] }, SECRET, 1024))).toMatch(/^BAD_ENVELOPE/);
    // A validly signed payload inside data of another layout never passes: what lies between the
    // fixed head and tail is what must carry the signature.
    const p = JSON.stringify(payload);
    for (const other of [`{"v":2,"x":0,"p":${p},"s":"${hmac(p)}"}`, `{"v":2, "p":${p},"s":"${hmac(p)}"}`, `{"v":2,"p":${p},"s":"${hmac(p)}","x":0}`]) {
      expect(codeOf(() => open(other))).toBe('BAD_ENVELOPE: envelope is not in the form klue writes');
    }
    expect(codeOf(() => open(`{"v":2,"p":${p},"x":{"p":{}},"s":"${hmac(p)}"}`))).toMatch(/^BAD_ENVELOPE: bad signature/);
  });

  it('rejects a correctly signed payload that is not JSON or lacks fields', () => {
    expect(codeOf(() => openEnvelope({ v: 1, p: '{oops', s: hmac('{oops') }, SECRET, 1024))).toMatch(/^BAD_ENVELOPE: payload is not JSON/);
    expect(codeOf(() => open(`{"v":2,"p":{"task":"x"},"s":"${hmac('{"task":"x"}')}"}`))).toBe('BAD_ENVELOPE: payload lacks id, task, args, ctx or at');
    expect(codeOf(() => openEnvelope({ v: 1, p: '{"task":"x"}', s: hmac('{"task":"x"}') }, SECRET, 1024))).toBe(
      'BAD_ENVELOPE: payload lacks id, task, args, ctx or at',
    );
  });

  it('refuses oversized payloads at sealing and at opening', () => {
    const big: TaskPayload = { ...payload, args: ['é'.repeat(600)] };
    expect(codeOf(() => sealEnvelope(big, SECRET, 1024))).toMatch(
      /^ASYNC_PAYLOAD_TOO_LARGE: sendEmail: the task call is \d+ bytes, more than async.max_payload \(1024\)/,
    );
    const stored = sealEnvelope(big, SECRET, 10_000);
    expect(codeOf(() => open(stored))).toMatch(/^BAD_ENVELOPE: payload is \d+ bytes, more than async.max_payload/);
    expect(codeOf(() => openEnvelope(JSON.parse(stored), SECRET, 1024))).toMatch(/^BAD_ENVELOPE: payload is \d+ bytes, more than async.max_payload/);
    const p = JSON.stringify(big);
    expect(codeOf(() => openEnvelope({ v: 1, p, s: hmac(p) }, SECRET, 1024))).toMatch(/^BAD_ENVELOPE: payload is \d+ bytes/);
  });
});
