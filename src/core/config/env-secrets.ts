import { KlueError } from '../errors/klue-error.js';

/**
 * Replaces every string value (at any depth) that is exactly the name of a variable listed
 * in `env_secrets` by that variable's value. Unlike the original, a listed variable that is
 * not set is a start-up error rather than a silent fallback to the variable's name.
 */
export function substituteEnvSecrets(file: string, raw: Record<string, unknown>): Record<string, unknown> {
  const names = raw.env_secrets;
  if (names === undefined) return raw;
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) {
    throw new KlueError('CONFIG_INVALID', `${file}: env_secrets: must be a list of environment variable names`);
  }
  const secrets = new Set(names);
  const walk = (value: unknown, path: string): unknown => {
    if (path === 'env_secrets') return value;
    if (typeof value === 'string' && secrets.has(value)) {
      const found = process.env[value];
      if (found === undefined || found === '') {
        throw new KlueError('ENV_SECRET_MISSING', `${file}: ${path}: environment variable ${value} is not set`, {
          details: { file, path, variable: value },
        });
      }
      return found;
    }
    if (Array.isArray(value)) return value.map((v, i) => walk(v, `${path}[${i}]`));
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, path ? `${path}.${k}` : k)]));
    }
    return value;
  };
  return walk(raw, '') as Record<string, unknown>;
}
