import { KlueError } from '../errors/klue-error.js';
import type { KlueConfig } from './config-types.js';
import { processSingleton } from '../../util/process-singleton.js';

const current = processSingleton('klue.config.current', (): { config?: KlueConfig } => ({}));

/** Makes `config()` return this config (done when a service is loaded). */
export function useConfig(config: KlueConfig): void {
  current.config = config;
}

/** The loaded service's config, or undefined before a service is loaded. */
export function loadedConfig(): KlueConfig | undefined {
  return current.config;
}

/** The loaded service's config: `config().get('uuid_file_path')` reads any key of klue-config.yaml. */
export function config(): KlueConfig {
  const c = current.config;
  if (!c) throw new KlueError('CONFIG_INVALID', 'No klue config is loaded yet (config() was called before the service started)');
  return c;
}
