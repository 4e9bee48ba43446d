import type { KeyObject, webcrypto } from 'node:crypto';
// jose's own entry points, not its index (which loads every JWS/JWE/JWK module): a verifier
// loads verification only; `jose/jwt/sign` is imported when a token is issued.
import { JWTExpired } from 'jose/errors';
import { importPKCS8, importSPKI } from 'jose/key/import';
import { jwtVerify } from 'jose/jwt/verify';
import type { JwtConfig, JwtConfigInput } from '../core/config/config-types.js';
import { jwtSettings } from '../core/config/jwt-settings.js';
import type { UserClaims } from '../core/context/context.js';
import { loadedConfig } from '../core/config/current-config.js';
import { KlueError } from '../core/errors/klue-error.js';
import { parseDuration } from '../util/duration.js';
import { authorizationHeader, bearerToken, type RequestHeaders } from './authorization.js';
import { processSingleton } from '../util/process-singleton.js';

type Key = Uint8Array | KeyObject | webcrypto.CryptoKey;

const active = processSingleton('klue.jwt.config', (): { config?: JwtConfig } => ({}));

/** Makes `generateToken()` and request authentication use this JWT config (done by loadService). */
export function useJwtConfig(config: JwtConfigInput): void {
  active.config = jwtSettings(config);
}

function activeConfig(config?: JwtConfigInput): JwtConfig {
  // A worker loads no verifier: its service's config holds the same settings.
  const c = (config && jwtSettings(config)) ?? active.config ?? loadedConfig()?.jwt;
  if (!c) throw new KlueError('CONFIG_INVALID', 'No JWT config loaded: load a service first or pass its jwt config');
  return c;
}

async function verifyKey(c: JwtConfig): Promise<Key> {
  if (c.algorithm === 'HS256') {
    if (!c.secret) throw new KlueError('CONFIG_INVALID', 'jwt_secret is required for HS256 tokens');
    return new TextEncoder().encode(c.secret);
  }
  if (!c.public_key) throw new KlueError('CONFIG_INVALID', `jwt_public_key is required for ${c.algorithm} tokens`);
  return importSPKI(c.public_key, c.algorithm);
}

async function signKey(c: JwtConfig): Promise<Key> {
  if (c.algorithm === 'HS256') return verifyKey(c);
  if (!c.private_key) throw new KlueError('CONFIG_INVALID', `jwt_private_key is required to issue ${c.algorithm} tokens`);
  return importPKCS8(c.private_key, c.algorithm);
}

/**
 * Verifies tokens with the algorithm pinned, `exp`, `aud` and `iss` checked when configured, and
 * `exp` and a string `sub` required unless `jwt_require_exp` / `jwt_require_sub` are false.
 */
export class JwtVerifier {
  private key: Promise<Key>;
  private readonly config: JwtConfig;
  constructor(config: JwtConfigInput) {
    this.config = jwtSettings(config);
    this.key = verifyKey(this.config);
    // Surface a bad key at start-up, not at the first request.
    this.key.catch(() => undefined);
  }

  /** Resolves when the key is usable; rejects with the configuration problem otherwise. */
  async ready(): Promise<void> {
    await this.key;
  }

  async verify(token: string): Promise<UserClaims> {
    let payload: UserClaims;
    try {
      ({ payload } = await jwtVerify(token, await this.key, {
        algorithms: [this.config.algorithm],
        audience: this.config.audience,
        issuer: this.config.issuer,
      }));
    } catch (err) {
      if (err instanceof JWTExpired) throw new KlueError('TOKEN_EXPIRED', undefined, { cause: err });
      if (err instanceof KlueError) throw err;
      throw new KlueError('TOKEN_INVALID', `Token rejected: ${(err as Error).message}`, { cause: err });
    }
    // A token without exp would be valid forever; one without sub names nobody.
    if (this.config.require_exp && payload.exp === undefined) {
      throw new KlueError('TOKEN_INVALID', 'Token rejected: it has no "exp" (expiry) claim, which this service requires (jwt_require_exp)');
    }
    if (this.config.require_sub && (typeof payload.sub !== 'string' || payload.sub === '')) {
      throw new KlueError('TOKEN_INVALID', 'Token rejected: it has no string "sub" (subject) claim, which this service requires (jwt_require_sub)');
    }
    return payload;
  }

  /**
   * Reads `Authorization: Bearer <token>` (the header's value, or the request it is read from:
   * a request with two Authorization headers is refused) and verifies it.
   */
  async authenticate(source: string | RequestHeaders | undefined): Promise<{ user: UserClaims; token: string }> {
    const header = typeof source === 'object' ? authorizationHeader(source) : source;
    if (!header) throw new KlueError('AUTHORIZATION_HEADER_MISSING');
    const token = bearerToken(header);
    if (!token) throw new KlueError('TOKEN_INVALID', 'The Authorization header is not "Bearer <token>"');
    return { user: await this.verify(token), token };
  }
}

export interface GenerateTokenOptions {
  /** Becomes the `sub` claim. */
  userId: string;
  /** Lifetime: seconds, or '15m', '2h'... Default: `jwt_token_timeout` (86400 s). */
  expiresIn?: number | string;
  /** Extra claims. */
  data?: Record<string, unknown>;
  /** JWT config to sign with. Default: the loaded service's. */
  config?: JwtConfigInput;
}

/** Issues a token the service accepts (for tests and tools; `klue token --user ID` prints one). */
export async function generateToken(options: GenerateTokenOptions): Promise<string> {
  const c = activeConfig(options.config);
  const seconds =
    options.expiresIn === undefined
      ? c.token_timeout
      : typeof options.expiresIn === 'number'
        ? options.expiresIn
        : Math.round(parseDuration(options.expiresIn, 'expiresIn') / 1000);
  const { SignJWT } = await import('jose/jwt/sign');
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT({ ...(options.data ?? {}) })
    .setProtectedHeader({ alg: c.algorithm, typ: 'JWT' })
    .setSubject(options.userId)
    .setIssuedAt(now)
    .setExpirationTime(now + seconds);
  if (c.audience) jwt = jwt.setAudience(c.audience);
  if (c.issuer) jwt = jwt.setIssuer(c.issuer);
  return jwt.sign(await signKey(c));
}
