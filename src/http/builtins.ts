import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { containerName } from '../core/config/load-config.js';
import type { Service } from '../service/load-service.js';
import { sendError } from './error-response.js';

/** `GET /ping`, `GET /version` and `GET /auth/version`, unless the service's specs declare them. */
export function registerBuiltins(app: FastifyInstance, service: Service, taken: Set<string>): void {
  const { config, jwt } = service;
  // `pym_env` and `apis` (the names of the APIs served) are the original's spelling, which its
  // clients and acceptance tests read; `env` is klue's. Both carry the same value.
  const version = {
    name: config.name,
    version: config.version,
    container: containerName(),
    env: config.env,
    pym_env: config.env,
    apis: service.apis.filter((api) => api.served).map((api) => api.spec.name),
  };
  const add = (url: string, handler: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>) => {
    if (!taken.has(`GET ${url}`)) app.get(url, handler);
  };
  add('/ping', async () => ({}));
  add('/version', async () => version);
  add('/auth/version', async (request, reply) => {
    try {
      if (!jwt) return version;
      await jwt.authenticate(request.raw);
      return version;
    } catch (err) {
      await sendError(err, request, reply);
      return reply;
    }
  });
}
