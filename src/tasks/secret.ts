import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isProduction, type KlueConfig } from '../core/config/config-types.js';
import { KlueError } from '../core/errors/klue-error.js';

/** Where a dev service keeps its generated envelope key, shared by the server and its workers. */
export function devSecretFile(dir: string): string {
  return join(dir, '.klue', 'async-secret');
}

/**
 * The HMAC key of task envelopes: `async.secret`; in production a missing secret stops
 * start-up; elsewhere a key is generated once under `.klue/` (mode 0600).
 */
export function resolveSecret(config: Pick<KlueConfig, 'dir' | 'file' | 'env' | 'async'>): string {
  if (config.async.secret) return config.async.secret;
  if (isProduction(config)) {
    throw new KlueError(
      'CONFIG_INVALID',
      `${config.file}: async.secret: required in production (name an env secret, or set KLUE_ASYNC_SECRET): workers only run task envelopes signed with it`,
    );
  }
  const file = devSecretFile(config.dir);
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(join(config.dir, '.klue'), { recursive: true });
  try {
    // 'wx': if a worker starting at the same moment wrote one first, use theirs.
    writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return readFileSync(file, 'utf8').trim();
}
