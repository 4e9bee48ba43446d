import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { KlueError } from '../../core/errors/klue-error.js';
import { tokenKey } from './envelope-keys.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Encrypts the caller's bearer token for the envelope (AES-256-GCM, a fresh 96-bit nonce per
 * call), bound to the envelope's id as additional data: whoever reads Redis, its files or the
 * dashboard sees ciphertext, and a ciphertext moved into another envelope does not open.
 * Returns base64url of iv ‖ ciphertext ‖ tag.
 */
export function sealToken(token: string, secret: string, envelopeId: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', tokenKey(secret), iv);
  cipher.setAAD(Buffer.from(envelopeId, 'utf8'));
  const body = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}

/** Reverses sealToken; BAD_ENVELOPE when the ciphertext does not open with this secret and id. */
export function openToken(sealed: string, secret: string, envelopeId: string): string {
  const raw = Buffer.from(sealed, 'base64url');
  if (raw.length < IV_BYTES + TAG_BYTES) throw new KlueError('BAD_ENVELOPE', 'the encrypted token is truncated');
  try {
    const decipher = createDecipheriv('aes-256-gcm', tokenKey(secret), raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(envelopeId, 'utf8'));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch (err) {
    throw new KlueError('BAD_ENVELOPE', 'the encrypted token does not open (another async.secret, or moved from another envelope)', { cause: err });
  }
}
