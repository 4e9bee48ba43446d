import { generateToken } from '../auth/jwt.js';
import { loadConfig } from '../core/config/load-config.js';

export async function tokenCommand(opts: { user: string; expires?: string; env?: string }): Promise<void> {
  const config = await loadConfig({ env: opts.env });
  const token = await generateToken({ userId: opts.user, expiresIn: opts.expires, config: config.jwt });
  process.stdout.write(`${token}\n`);
}
