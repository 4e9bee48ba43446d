import { exportPKCS8, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import type { JwtConfig } from '../core/config/config-types.js';
import { KlueError } from '../core/errors/klue-error.js';
import { generateToken, JwtVerifier } from './jwt.js';

const hs: JwtConfig = { algorithm: 'HS256', secret: 'a-long-enough-test-secret', audience: 'aud', issuer: 'iss', token_timeout: 60, require_exp: true, require_sub: true };

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof KlueError) return err.code;
    throw err;
  }
  return 'OK';
}

describe('JWT', () => {
  it('round-trips an HS256 token with sub, aud, iss, exp and extra claims', async () => {
    const token = await generateToken({ userId: 'u1', data: { admin: true }, config: hs });
    const claims = await new JwtVerifier(hs).verify(token);
    expect(claims).toMatchObject({ sub: 'u1', aud: 'aud', iss: 'iss', admin: true });
    expect(claims.exp! - claims.iat!).toBe(60);
  });

  it('checks audience and issuer (the original never checked iss)', async () => {
    const verifier = new JwtVerifier(hs);
    expect(await code(verifier.verify(await generateToken({ userId: 'u', config: { ...hs, issuer: 'evil' } })))).toBe('TOKEN_INVALID');
    expect(await code(verifier.verify(await generateToken({ userId: 'u', config: { ...hs, audience: 'other' } })))).toBe('TOKEN_INVALID');
    expect(await code(verifier.verify(await generateToken({ userId: 'u', config: { ...hs, secret: 'another-secret-of-length' } })))).toBe('TOKEN_INVALID');
    expect(await code(verifier.verify(await generateToken({ userId: 'u', expiresIn: -5, config: hs })))).toBe('TOKEN_EXPIRED');
  });

  it('reads the Authorization header', async () => {
    const verifier = new JwtVerifier(hs);
    expect(await code(verifier.authenticate(undefined))).toBe('AUTHORIZATION_HEADER_MISSING');
    expect(await code(verifier.authenticate('Basic abc'))).toBe('TOKEN_INVALID');
    const token = await generateToken({ userId: 'u', config: hs });
    expect((await verifier.authenticate(`Bearer ${token}`)).user.sub).toBe('u');
  });

  for (const alg of ['RS256', 'ES256'] as const) {
    it(`verifies ${alg} with a public key and pins the algorithm`, async () => {
      const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
      const config: JwtConfig = { algorithm: alg, public_key: await exportSPKI(publicKey), private_key: await exportPKCS8(privateKey), token_timeout: 60, require_exp: true, require_sub: true };
      const verifier = new JwtVerifier(config);
      const token = await generateToken({ userId: 'pk-user', config });
      expect((await verifier.verify(token)).sub).toBe('pk-user');
      // The classic confusion attack: an HS256 token whose HMAC key is the public key PEM.
      const forged = await new SignJWT({ sub: 'attacker' })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(config.public_key));
      expect(await code(verifier.verify(forged))).toBe('TOKEN_INVALID');
    });
  }
});
