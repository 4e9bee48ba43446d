import { afterEach, describe, expect, it } from 'vitest';
import { captureLogs, silenceLogs } from '../../../test/helpers/captured-logs.js';
import { helloworldDir } from '../../../test/helpers/service-dir.js';
import { JwtVerifier, generateToken } from '../../auth/jwt.js';
import type { JwtConfig, JwtConfigInput } from './config-types.js';
import { loadConfig } from './load-config.js';

afterEach(() => {
  silenceLogs();
  delete process.env.PYM_JWT_SECRET;
});

describe('config.jwt in snake_case', () => {
  it("loads the original's pym-config.yaml into snake_case fields, and still reads the former camelCase ones once-warned", async () => {
    process.env.PYM_JWT_SECRET = 'a-test-secret';
    const lines = captureLogs();
    const config = await loadConfig({ dir: helloworldDir });
    expect(config.jwt).toEqual({
      secret: 'a-test-secret',
      algorithm: 'HS256',
      audience: 'helloworldaudienceisgreat',
      issuer: 'api.helloworld.com',
      token_timeout: 86400,
      require_exp: true,
      require_sub: true,
      public_key: undefined,
      private_key: undefined,
    });
    // Used as klue uses it (token, verifier), it warns of nothing.
    await new JwtVerifier(config.jwt).verify(await generateToken({ userId: 'u0', config: config.jwt }));
    expect(lines).toEqual([]);
    const old = config.jwt as JwtConfig & { tokenTimeout?: number };
    expect(old.tokenTimeout).toBe(86400);
    expect(old.tokenTimeout).toBe(86400);
    expect(lines.map((l) => [l.obj.field, l.obj.use, l.msg])).toEqual([['jwt.tokenTimeout', 'jwt.token_timeout', 'config: jwt.tokenTimeout is deprecated: use jwt.token_timeout (the jwt_token_timeout key)']]);
  });

  it('accepts a JWT config with the former camelCase fields, warning once per field', async () => {
    const lines = captureLogs();
    const legacy: JwtConfigInput = { algorithm: 'HS256', secret: 'a-long-enough-test-secret', token_timeout: 60, requireExp: true, requireSub: false };
    const token = await generateToken({ userId: 'u1', config: legacy });
    await generateToken({ userId: 'u2', config: legacy });
    const claims = await new JwtVerifier(legacy).verify(token);
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(60);
    // requireSub: false is honoured: a token without sub passes.
    const { SignJWT } = await import('jose');
    const noSub = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1m').sign(new TextEncoder().encode('a-long-enough-test-secret'));
    await expect(new JwtVerifier(legacy).verify(noSub)).resolves.toBeDefined();
    expect(lines.map((l) => l.obj.field).sort()).toEqual(['jwt.requireExp', 'jwt.requireSub']);
  });
});
