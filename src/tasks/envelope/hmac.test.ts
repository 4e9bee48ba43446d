import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HmacSha256 } from './hmac.js';

const reference = (secret: string, text: string) => createHmac('sha256', Buffer.from(secret, 'utf8')).update(text, 'utf8').digest('hex');

/** Text of `n` UTF-16 units drawn from ASCII, two- and three-byte characters and surrogate pairs. */
function mixedText(n: number, seed: number): string {
  const pieces = ['a', '"', '\\', 'é', 'ß', '€', '漢', '😀', '\u0000', '\n'];
  let s = '';
  let x = seed;
  while (s.length < n) {
    x = (x * 1103515245 + 12345) >>> 0;
    s += pieces[x % pieces.length];
  }
  return s;
}

describe('HmacSha256', () => {
  it('gives createHmac\'s digest for keys shorter than, as long as and longer than the block', () => {
    for (const len of [0, 1, 32, 63, 64, 65, 100, 200]) {
      const secret = randomBytes(len).toString('hex').slice(0, len);
      const hmac = new HmacSha256(secret);
      for (const text of ['', 'x', '{"id":"1","task":"t","args":[],"ctx":{},"at":1}', 'y'.repeat(1000)]) {
        expect(hmac.hex(text), `key ${len}, text ${text.length}`).toBe(reference(secret, text));
      }
    }
  });

  it('signs non-ASCII keys and text as their UTF-8 bytes, lone surrogates as createHmac does', () => {
    const secret = 'clé-秘密-😀-'.repeat(5);
    const hmac = new HmacSha256(secret);
    for (let i = 0; i < 200; i++) {
      const text = mixedText(i * 7, i);
      expect(hmac.hex(text)).toBe(reference(secret, text));
    }
    for (const text of ['\ud800', 'a\udc00b', '\ud83d', 'x'.repeat(600) + '\udfff']) expect(hmac.hex(text)).toBe(reference(secret, text));
  });

  it('stays right as its buffer grows, for shorter texts after longer ones, and past the inline limit', () => {
    const secret = 'grow';
    const hmac = new HmacSha256(secret);
    for (const n of [10, 600, 5, 3000, 20, 8192, 8193, 40_000, 7]) {
      const text = mixedText(n, n);
      expect(hmac.hex(text), `length ${n}`).toBe(reference(secret, text));
    }
  });

  it('gives different digests for different keys and texts', () => {
    const a = new HmacSha256('key-a');
    const b = new HmacSha256('key-b');
    expect(a.hex('payload')).not.toBe(b.hex('payload'));
    expect(a.hex('payload')).not.toBe(a.hex('payload '));
    expect(a.hex('payload')).toMatch(/^[0-9a-f]{64}$/);
  });
});
