import { writeApiTypes } from '../service/types-gen.js';
import { loadConfig } from '../core/config/load-config.js';

export async function typesCommand(opts: { env?: string }): Promise<void> {
  const config = await loadConfig({ env: opts.env });
  const written = await writeApiTypes(config);
  process.stdout.write(written.length ? written.map((f) => `wrote ${f}\n`).join('') : 'types are up to date\n');
}
