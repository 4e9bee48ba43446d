import { hkdfSync } from 'node:crypto';

/*
 * Keys derived from `async.secret` (HKDF-SHA256, RFC 5869), one per purpose: a signature made
 * for one purpose or envelope version is worthless for another, so a v2 signature cannot be
 * passed off as a v3 one, nor a token's ciphertext key recovered from signatures.
 */

const cache = new Map<string, Buffer>();

function derive(secret: string, info: string): Buffer {
  const id = `${info}\n${secret}`;
  let key = cache.get(id);
  if (!key) {
    key = Buffer.from(hkdfSync('sha256', secret, 'klue', info, 32));
    // A process has one secret (two while it rotates): never more than a handful of entries.
    if (cache.size > 16) cache.clear();
    cache.set(id, key);
  }
  return key;
}

/**
 * HMAC key of envelopes of `version`. Derived the same way for every version, so a worker can
 * check the signature of an envelope newer than it reads before it trusts anything in it.
 */
export function envelopeSigningKey(secret: string, version: number): Buffer {
  return derive(secret, `klue envelope v${version}`);
}

/** AES-256-GCM key of the bearer tokens that envelopes carry. */
export function tokenKey(secret: string): Buffer {
  return derive(secret, 'klue task token');
}
