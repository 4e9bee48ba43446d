import type { DeployTarget } from './deploy-target.js';
import { paasKlue } from './klue-invocation.js';

/**
 * A Procfile for Heroku-style platforms. There each process type scales on its own, so the web
 * process serves HTTP only and workers run as their own `worker` dynos.
 */
export function renderProcfile(target: Pick<DeployTarget, 'withAsync'>): string {
  const lines = target.withAsync
    ? [`web: ${paasKlue('start', '--port', '$PORT', '--no-worker')}`, `worker: ${paasKlue('worker')}`]
    : [`web: ${paasKlue('start', '--port', '$PORT')}`];
  return `${lines.join('\n')}\n`;
}
