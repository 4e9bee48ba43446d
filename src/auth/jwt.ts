import type { KeyObject, webcrypto } from 'node:crypto';
import { errors as joseErrors, importPKCS8, importSPKI, jwtVerify, SignJWT } from 'jose';
import type { JwtConfig } from '../config/config-types.js';
import type { UserClaims } from '../context/context.js';
import { KlueError } from '../errors/klue-error.js';
import { parseDuration } from '../util/duration.js';

type Key = Uint8Array | KeyObject | webcrypto.CryptoKey;

const KEY = Symbol.for('klue.jwt.config');
const holder = globalThis as unknown as Record<symbol, JwtConfig | undefined>;

/** Makes `generateToken()` and request authentication use this JWT config (done by loadService). */
export function useJwtConfig(config: JwtConfig): void {
  holder[KEY] = config;
}

function activeConfig(config?: JwtConfig): JwtConfig {
  const c = config ?? holder[KEY];
  if (!c) throw new KlueError('CONFIG_INVALID', 'No JWT config loaded: load a service first or pass its jwt config');
  return c;
}

async function verifyKey(c: JwtConfig): Promise<Key> {
  if (c.algorithm === 'HS256') {
    if (!c.secret) throw new KlueError('CONFIG_INVALID', 'jwt_secret is required for HS256 tokens');
    return new TextEncoder().encode(c.secret);
  }
  if (!c.publicKey) throw new KlueError('CONFIG_INVALID', `jwt_public_key is required for ${c.algorithm} tokens`);
  return importSPKI(c.publicKey, c.algorithm);
}

async function signKey(c: JwtConfig): Promise<Key> {
  if (c.algorithm === 'HS256') return verifyKey(c);
  if (!c.privateKey) throw new KlueError('CONFIG_INVALID', `jwt_private_key is required to issue ${c.algorithm} tokens`);
  return importPKCS8(c.privateKey, c.algorithm);
}

/** Verifies tokens with the algorithm pinned and `exp`, `aud` and `iss` checked when configured. */
export class JwtVerifier {
  private key: Promise<Key>;
  constructor(private readonly config: JwtConfig) {
    this.key = verifyKey(config);
    // Surface a bad key at start-up, not at the first request.
    this.key.catch(() => undefined);
  }

  /** Resolves when the key is usable; rejects with the configuration problem otherwise. */
  async ready(): Promise<void> {
    await this.key;
  }

  async verify(token: string): Promise<UserClaims> {
    try {
      const { payload } = await jwtVerify(token, await this.key, {
        algorithms: [this.config.algorithm],
        audience: this.config.audience,
        issuer: this.config.issuer,
      });
      return payload;
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new KlueError('TOKEN_EXPIRED', undefined, { cause: err });
      if (err instanceof KlueError) throw err;
      throw new KlueError('TOKEN_INVALID', `Token rejected: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Reads `Authorization: Bearer <token>` and verifies it. */
  async authenticate(header: string | undefined): Promise<{ user: UserClaims; token: string }> {
    if (!header) throw new KlueError('AUTHORIZATION_HEADER_MISSING');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) throw new KlueError('TOKEN_INVALID', 'The Authorization header is not "Bearer <token>"');
    return { user: await this.verify(match[1]), token: match[1] };
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
  config?: JwtConfig;
}

/** Issues a token the service accepts (for tests and tools; `klue token --user ID` prints one). */
export async function generateToken(options: GenerateTokenOptions): Promise<string> {
  const c = activeConfig(options.config);
  const seconds =
    options.expiresIn === undefined
      ? c.tokenTimeout
      : typeof options.expiresIn === 'number'
        ? options.expiresIn
        : Math.round(parseDuration(options.expiresIn, 'expiresIn') / 1000);
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
