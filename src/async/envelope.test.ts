import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KlueError } from '../errors/klue-error.js';
import { openEnvelope, sealEnvelope, type TaskPayload } from './envelope.js';

const SECRET = 'a-test-secret-of-some-length';
const payload: TaskPayload = { id: 'id-1', task: 'sendEmail', args: ['ann', 'héllo'], ctx: { user: { sub: 'u1' } }, at: 1 };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof KlueError ? `${err.code}: ${err.message}` : `not a KlueError: ${String(err)}`;
  }
  return undefined;
}

describe('envelope', () => {
  it('round-trips a signed payload', () => {
    const env = sealEnvelope(payload, SECRET, 1024);
    expect(env.v).toBe(1);
    expect(env.s).toMatch(/^[0-9a-f]{64}$/);
    expect(openEnvelope(JSON.parse(JSON.stringify(env)), SECRET, 1024)).toEqual(payload);
  });

  it('rejects tampered, unsigned, foreign-key and malformed envelopes', () => {
    const env = sealEnvelope(payload, SECRET, 1024);
    const tampered = { ...env, p: env.p.replace('"u1"', '"admin"') };
    expect(codeOf(() => openEnvelope(tampered, SECRET, 1024))).toMatch(/^BAD_ENVELOPE: bad signature/);
    expect(codeOf(() => openEnvelope(env, 'another-secret-entirely', 1024))).toMatch(/^BAD_ENVELOPE: bad signature/);
    expect(codeOf(() => openEnvelope({ v: 1, p: env.p }, SECRET, 1024))).toBe('BAD_ENVELOPE: envelope is not signed');
    expect(codeOf(() => openEnvelope({ ...env, v: 2 }, SECRET, 1024))).toBe('BAD_ENVELOPE: unsupported envelope version 2');
    expect(codeOf(() => openEnvelope('text', SECRET, 1024))).toMatch(/^BAD_ENVELOPE: job data is not a klue envelope/);
    expect(codeOf(() => openEnvelope({ args: [] }, SECRET, 1024))).toMatch(/^BAD_ENVELOPE/);
  });

  it('rejects a correctly signed payload that is not JSON or lacks fields', () => {
    const signed = (p: string) => ({ v: 1, p, s: createHmac('sha256', SECRET).update(p).digest('hex') });
    expect(codeOf(() => openEnvelope(signed('{oops'), SECRET, 1024))).toMatch(/^BAD_ENVELOPE: payload is not JSON/);
    expect(codeOf(() => openEnvelope(signed('{"task":"x"}'), SECRET, 1024))).toBe('BAD_ENVELOPE: payload lacks id, task, args, ctx or at');
  });

  it('refuses oversized payloads at sealing and at opening', () => {
    const big: TaskPayload = { ...payload, args: ['é'.repeat(600)] };
    expect(codeOf(() => sealEnvelope(big, SECRET, 1024))).toMatch(
      /^ASYNC_PAYLOAD_TOO_LARGE: sendEmail: the task call is \d+ bytes, more than async.max_payload \(1024\)/,
    );
    const env = sealEnvelope(big, SECRET, 10_000);
    expect(codeOf(() => openEnvelope(env, SECRET, 1024))).toMatch(/^BAD_ENVELOPE: payload is \d+ bytes, more than async.max_payload/);
  });
});
