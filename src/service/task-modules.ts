import { glob } from 'tinyglobby';
import type { KlueConfig } from '../core/config/config-types.js';
import { importModule } from './module-loader.js';

/** Imports every module matched by `async.modules` (relative to the service) so its tasks register. Returns the files. */
export async function importTaskModules(config: Pick<KlueConfig, 'dir' | 'async'>): Promise<string[]> {
  if (config.async.modules.length === 0) return [];
  const files = (await glob(config.async.modules, { cwd: config.dir, absolute: true })).sort();
  for (const file of files) await importModule(file);
  return files;
}
