import { rootLogger } from '../log/logger.js';
import { processSingleton } from '../../util/process-singleton.js';
import { configSchema } from './config-schema.js';
import type { JwtConfig, JwtConfigInput } from './config-types.js';

const TOP = configSchema.properties;

/** The former camelCase fields of JwtConfig and the snake_case ones that replace them. */
const RENAMED = { publicKey: 'public_key', privateKey: 'private_key', tokenTimeout: 'token_timeout', requireExp: 'require_exp', requireSub: 'require_sub' } as const;

// One warning per old field and process, not one per token.
const warned = processSingleton('klue.jwt.deprecated-fields', () => new Set<string>());

function deprecated(old: string, now: string): void {
  if (warned.has(old)) return;
  warned.add(old);
  rootLogger().warn({ field: `jwt.${old}`, use: `jwt.${now}` }, `config: jwt.${old} is deprecated: use jwt.${now} (the jwt_${now} key)`);
}

/**
 * A JWT config given to klue's API in its snake_case form; a former camelCase field is read
 * (when its new field is not set) with one deprecation warning. Unset ones get the defaults.
 */
export function jwtSettings(input: JwtConfigInput): JwtConfig {
  const out: Record<string, unknown> = { ...input };
  for (const [old, now] of Object.entries(RENAMED)) {
    // Own enumerable fields only: a loaded config.jwt has the old names as warning getters.
    if (!Object.prototype.propertyIsEnumerable.call(input, old)) continue;
    deprecated(old, now);
    out[now] ??= (input as Record<string, unknown>)[old];
    delete out[old];
  }
  out.token_timeout ??= TOP.jwt_token_timeout.default;
  out.require_exp ??= TOP.jwt_require_exp.default;
  out.require_sub ??= TOP.jwt_require_sub.default;
  return out as unknown as JwtConfig;
}

/**
 * Keeps the former camelCase fields of a loaded `config.jwt` readable: each is a getter (not
 * enumerable) that warns once and answers the snake_case field's value.
 */
export function withDeprecatedReads(jwt: JwtConfig): JwtConfig {
  for (const [old, now] of Object.entries(RENAMED)) {
    Object.defineProperty(jwt, old, {
      enumerable: false,
      get() {
        deprecated(old, now);
        return jwt[now];
      },
    });
  }
  return jwt;
}
