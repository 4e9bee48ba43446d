import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import { KlueError } from '../core/errors/klue-error.js';
import { QueueAdmin } from '../tasks/transport/queue-admin.js';
import { sendError } from './error-response.js';
import type { Service } from '../service/load-service.js';
import { dashboardCookie, dashboardGuard, hasAdminClaim, servedDashboard } from './dashboard-auth.js';

// bull-board's retry routes (its routes.js): a retry through them runs an envelope that already
// ran to its end, which workers refuse unless the operator's retry allows it. dashboard.test.ts
// retries through the first one, so an upgrade that moves it fails there.
const RETRY_JOB = /^\/api\/queues\/([^/?]+)\/([^/?]+)\/retry(?:\?|$)/;
const RETRY_ALL = /^\/api\/queues\/([^/?]+)\/retry\/(failed|completed)(?:\?|$)/;

/** Before bull-board retries what `path` (below the dashboard's base) names, lets those envelopes run again. */
async function allowDashboardRetry(admin: QueueAdmin, path: string): Promise<void> {
  const all = RETRY_ALL.exec(path);
  const one = all ? undefined : RETRY_JOB.exec(path);
  const match = all ?? one;
  if (!match) return;
  // bull-board names queues as BullMQ does: klue's queue name in braces.
  const queue = decodeURIComponent(match[1] ?? '').replace(/^\{(.*)\}$/, '$1');
  if (all) return admin.allowRerunAll(queue, all[2] as 'failed' | 'completed');
  const job = await admin.queue(queue).getJob(decodeURIComponent(match[2] ?? ''));
  if (job) await admin.allowRerun(queue, job);
}

/** Mounts bull-board at `async.dashboard.path` (default `/admin/queues`) behind the dashboard guard. */
export async function registerDashboard(app: FastifyInstance, service: Service): Promise<void> {
  const { config, jwt } = service;
  const dashboard = servedDashboard(config);
  if (!dashboard) return;
  if (!dashboard.basic_password && !jwt) {
    throw new KlueError('CONFIG_INVALID', `${config.file}: async.dashboard: needs basic_user/basic_password or a jwt_secret/jwt_public_key`);
  }
  const admin = new QueueAdmin(config);
  app.addHook('onClose', async () => admin.close());
  const names = await admin.queueNames();
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(dashboard.path);
  createBullBoard({ queues: names.map((n) => new BullMQAdapter(admin.queue(n), { displayName: n })), serverAdapter });

  // A browser cannot send a bearer header when it navigates: `login?token=` trades an admin JWT for a
  // cookie (the request log line shows the URL with the token redacted).
  app.get(`${dashboard.path}/login`, async (request, reply) => {
    try {
      const token = (request.query as { token?: unknown }).token;
      if (typeof token !== 'string' || !jwt) throw new KlueError('AUTHORIZATION_HEADER_MISSING', 'Pass an admin JWT as ?token=');
      const claims = await jwt.verify(token);
      if (!hasAdminClaim(claims, dashboard.admin_claim ?? 'admin')) throw new KlueError('FORBIDDEN', 'The token has no admin claim');
      const maxAge = claims.exp ? Math.max(0, claims.exp - Math.floor(Date.now() / 1000)) : 3600;
      return reply
        .header('set-cookie', dashboardCookie(request, token, dashboard.path, maxAge))
        .redirect(dashboard.path);
    } catch (err) {
      await sendError(err, request, reply);
      return reply;
    }
  });
  await app.register(async (scope) => {
    scope.addHook('onRequest', dashboardGuard(dashboard, jwt));
    scope.addHook('preHandler', async (request) => {
      if (request.method === 'PUT') await allowDashboardRetry(admin, request.url.slice(dashboard.path.length));
    });
    await scope.register(serverAdapter.registerPlugin(), { prefix: dashboard.path });
  });
}
