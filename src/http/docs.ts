import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import type { Service } from '../service/load-service.js';

/**
 * Serves each spec the service serves at `/docs/<api>.json` and all of them in Swagger UI at
 * `/docs`; an API it only calls (`clients:`) is another service's to document.
 */
export async function registerDocs(app: FastifyInstance, service: Service): Promise<void> {
  const served = service.apis.filter((api) => api.served);
  const [first, ...rest] = served;
  if (!first) return;
  for (const api of served) app.get(`/docs/${api.spec.name}.json`, async () => api.spec.doc);
  await app.register(swagger, { mode: 'static', specification: { document: first.spec.doc as never } });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig:
      rest.length > 0
        ? { urls: served.map((a) => ({ name: a.spec.name, url: `/docs/${a.spec.name}.json` })) }
        : { docExpansion: 'list' },
  });
}
