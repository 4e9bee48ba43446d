/**
 * How a container runs the klue CLI: node runs klue as the container's main process, so the
 * SIGTERM of `docker stop` reaches klue's graceful shutdown directly (an npm/npx wrapper would
 * have to forward it) and nothing writes an npm cache at start. The path is where `npm ci` puts klue.
 */
export function containerKlue(...args: string[]): string[] {
  return ['node', 'node_modules/klue/bin/klue.js', ...args];
}

/** How a PaaS process line runs the klue CLI: npx finds the project's own klue, never downloads one. */
export function paasKlue(...args: string[]): string {
  return ['npx', '--no-install', 'klue', ...args].join(' ');
}
