import * as crypto from 'node:crypto';

const BLOCK = 64;
/** Messages up to this many UTF-16 units go through the reused buffer; longer ones through createHmac. */
const MAX_INLINE_UNITS = 8192;

// One-shot SHA-256 (Node 20.12+; klue supports 20.11, where it is missing).
const oneShot = (crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'hex' | 'latin1') => string }).hash;

/**
 * HMAC-SHA256 (RFC 2104) of UTF-8 text, as hex, for one key: the same bytes as
 * `createHmac('sha256', key).update(text).digest('hex')`, at about half its cost for a task
 * envelope. Every job is signed by the server and checked by the worker, and for a few hundred
 * bytes createHmac's cost is not the hashing but making and initialising an OpenSSL HMAC
 * context per call (with OpenSSL 3 about 2 µs, `npm run bench` worker profiles: `init`).
 * Here the key's two padded blocks are made once, and each call is two one-shot SHA-256s
 * (`crypto.hash`) over reused buffers: H(K ⊕ opad ‖ H(K ⊕ ipad ‖ text)).
 * Synchronous and not re-entrant, like everything on one thread.
 */
export class HmacSha256 {
  private readonly key: crypto.KeyObject;
  private inner = Buffer.alloc(BLOCK + 3 * 512);
  private readonly outer = Buffer.alloc(BLOCK + 32);

  /** `key`: a string is taken as its UTF-8 bytes. */
  constructor(key: string | Uint8Array) {
    const raw = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key);
    this.key = crypto.createSecretKey(raw);
    // RFC 2104: a key longer than the block is hashed first; a shorter one is padded with zeros.
    const k = raw.length > BLOCK ? crypto.createHash('sha256').update(raw).digest() : raw;
    for (let i = 0; i < BLOCK; i++) {
      const b = k[i] ?? 0;
      this.inner[i] = b ^ 0x36;
      this.outer[i] = b ^ 0x5c;
    }
  }

  hex(text: string): string {
    if (!oneShot || text.length > MAX_INLINE_UNITS) return crypto.createHmac('sha256', this.key).update(text).digest('hex');
    // A UTF-16 unit is at most 3 bytes of UTF-8 (a surrogate pair, two units, is 4).
    const room = BLOCK + 3 * text.length;
    if (this.inner.length < room) {
      const grown = Buffer.alloc(Math.max(room, this.inner.length * 2));
      this.inner.copy(grown, 0, 0, BLOCK);
      this.inner = grown;
    }
    const n = this.inner.write(text, BLOCK, 'utf8');
    // latin1: the digest's 32 bytes as 32 one-byte characters, written back as the same bytes.
    this.outer.write(oneShot('sha256', this.inner.subarray(0, BLOCK + n), 'latin1'), BLOCK, 'latin1');
    return oneShot('sha256', this.outer, 'hex');
  }
}
