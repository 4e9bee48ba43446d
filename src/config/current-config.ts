import { KlueError } from '../errors/klue-error.js';
import type { KlueConfig } from './config-types.js';

const KEY = Symbol.for('klue.config.current');
const holder = globalThis as unknown as Record<symbol, KlueConfig | undefined>;

/** Makes `config()` return this config (done when a service is loaded). */
export function useConfig(config: KlueConfig): void {
  holder[KEY] = config;
}

/** The loaded service's config: `config().get('uuid_file_path')` reads any key of klue-config.yaml. */
export function config(): KlueConfig {
  const c = holder[KEY];
  if (!c) throw new KlueError('CONFIG_INVALID', 'No klue config is loaded yet (config() was called before the service started)');
  return c;
}
