import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ComposeFile } from '../../src/deploy/compose.js';
import { copyService, helloworldDir, type ServiceDir } from '../helpers/service-dir.js';
import { klueDeploy, readDeployFiles } from './generate.js';

const services: ServiceDir[] = [];
afterAll(() => services.forEach((s) => s.cleanup()));

async function generatedCompose(config: Record<string, unknown>, args: string[] = []): Promise<{ text: string; compose: ComposeFile }> {
  const svc = copyService(helloworldDir, config);
  services.push(svc);
  expect((await klueDeploy(['init', ...args], svc.dir)).code).toBe(0);
  const text = readDeployFiles(svc.dir)['docker-compose.yml']!;
  return { text, compose: parse(text) as ComposeFile };
}

describe('the generated docker-compose.yml (with_async)', { timeout: 60_000 }, () => {
  let text: string;
  let compose: ComposeFile;
  beforeAll(async () => {
    ({ text, compose } = await generatedCompose({}));
  }, 60_000);

  it('reads the same to YAML 1.1 parsers (docker compose) as to YAML 1.2 ones', () => {
    expect(parse(text, { version: '1.1' })).toEqual(compose);
    expect(text).not.toMatch(/[&*][a-z]\w*\s*$/m); // no anchors or aliases
  });

  it('builds the service, maps its port and points it at the redis service', () => {
    expect(Object.keys(compose.services)).toEqual(['hello', 'redis', 'worker']);
    const app = compose.services.hello!;
    expect(app).toMatchObject({ build: '.', ports: ['8080:8080'], depends_on: { redis: { condition: 'service_healthy' } } });
    expect(app.environment).toEqual({
      REDIS_URL: 'redis://redis:6379',
      PYM_JWT_SECRET: '${PYM_JWT_SECRET:?set PYM_JWT_SECRET}',
      KLUE_ASYNC_SECRET: '${KLUE_ASYNC_SECRET:?set KLUE_ASYNC_SECRET}',
    });
    // async.shutdown_timeout (30 s by default) plus a margin, not Docker's 10 s.
    expect(app.stop_grace_period).toBe('35s');
  });

  it('runs Redis 7 with an append-only file on a named volume, and a ping healthcheck', () => {
    const redis = compose.services.redis!;
    expect(redis.image).toBe('redis:7');
    expect(redis.command).toEqual(['redis-server', '--appendonly', 'yes']);
    expect(redis.volumes).toEqual(['redis-data:/data']);
    expect(Object.keys(compose.volumes ?? {})).toEqual(['redis-data']);
    expect(redis.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it('has an optional worker service in the workers profile, scalable (no fixed replicas)', () => {
    const worker = compose.services.worker!;
    const app = compose.services.hello!;
    expect(worker.profiles).toEqual(['workers']);
    expect(worker.command).toEqual(['node', 'node_modules/klue/bin/klue.js', 'worker']);
    expect(worker).toMatchObject({ build: app.build, image: app.image, environment: app.environment, depends_on: app.depends_on });
    expect(worker).not.toHaveProperty('deploy');
    expect(worker).not.toHaveProperty('ports');
    expect(worker.healthcheck).toEqual({ disable: true });
  });
});

describe('the generated docker-compose.yml (no async)', { timeout: 60_000 }, () => {
  it('has the service alone: no Redis, no worker, no REDIS_URL', async () => {
    const { compose } = await generatedCompose({ with_async: false }, ['--port', '3000']);
    expect(Object.keys(compose.services)).toEqual(['hello']);
    expect(compose.volumes).toBeUndefined();
    expect(compose.services.hello).toMatchObject({ ports: ['3000:3000'], environment: { PYM_JWT_SECRET: '${PYM_JWT_SECRET:?set PYM_JWT_SECRET}' } });
    expect(compose.services.hello!.environment).not.toHaveProperty('REDIS_URL');
    expect(compose.services.hello).not.toHaveProperty('depends_on');
  });

  it('renames the service when its name is taken by a helper service', async () => {
    const { compose } = await generatedCompose({ name: 'redis' });
    expect(Object.keys(compose.services)).toEqual(['redis-web', 'redis', 'worker']);
    expect(compose.services.redis!.image).toBe('redis:7');
  });

  it('quotes a port mapping YAML 1.1 would read as a base-60 number', async () => {
    const { text, compose } = await generatedCompose({ with_async: false }, ['--port', '22']);
    expect(parse(text, { version: '1.1' })).toEqual(compose);
    expect(compose.services.hello!.ports).toEqual(['22:22']);
  });
});
