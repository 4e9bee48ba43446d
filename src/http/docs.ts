import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import type { Service } from '../service/load-service.js';

/** Serves each spec at `/docs/<api>.json` and all of them in Swagger UI at `/docs`. */
export async function registerDocs(app: FastifyInstance, service: Service): Promise<void> {
  const [first, ...rest] = service.apis;
  if (!first) return;
  for (const api of service.apis) app.get(`/docs/${api.spec.name}.json`, async () => api.spec.doc);
  await app.register(swagger, { mode: 'static', specification: { document: first.spec.doc as never } });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig:
      rest.length > 0
        ? { urls: service.apis.map((a) => ({ name: a.spec.name, url: `/docs/${a.spec.name}.json` })) }
        : { docExpansion: 'list' },
  });
}
