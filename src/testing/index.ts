// `klue/testing`: a service loaded in this process from its folder, for a test runner (vitest,
// node:test). Requests go through Fastify's `inject`, tokens are signed with the service's own
// JWT config, and tasks run in-process through the real envelope round trip.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { generateToken } from '../auth/jwt.js';
import type { KlueConfig } from '../core/config/config-types.js';
import { loadConfig } from '../core/config/load-config.js';
import { createRootLogger } from '../core/log/logger.js';
import { createApp } from '../http/create-app.js';
import { loadService, type Service } from '../service/load-service.js';
import { importTaskModules } from '../service/task-modules.js';
import { isObject } from '../util/is-object.js';
import { useTypeScriptFromTests } from './typescript.js';
import { TaskRecorder, type TaskRun } from './task-recorder.js';

export type { TaskRun } from './task-recorder.js';

useTypeScriptFromTests();

export interface TestServiceOptions {
  /** The service folder (a path or a `file:` URL such as `new URL('..', import.meta.url)`). Default: the current directory. */
  dir?: string | URL;
  /** Environment: also reads `klue-config.<env>.yaml`. Default: none, the base config alone. */
  env?: string;
  /** Config values merged over the files (`{ jwt_secret: 'test-secret' }`). */
  config?: Record<string, unknown>;
  /**
   * When task calls run (always in this process, as `async.mode: inline`): `'immediate'` (default)
   * starts each on the next turn of the event loop; `'held'` keeps them until `tasks.drain()`.
   */
  tasks?: 'immediate' | 'held';
  /** pino level of the service's logs. Default: `LOG_LEVEL`, else `'silent'` (a passing test prints nothing). */
  logLevel?: string;
}

export interface TestInjectOptions extends InjectOptions {
  /** Sends `Authorization: Bearer <token for this user id>`. */
  user?: string;
}

export interface TestTasks {
  /** Every task call made since the service was loaded (or since `clear()`), in call order. */
  readonly runs: readonly TaskRun[];
  /** Runs every held call (and the calls they make), then waits until none is left running. */
  drain(): Promise<void>;
  /** Forgets the recorded runs (not the runs themselves). */
  clear(): void;
}

export interface TestService {
  config: KlueConfig;
  service: Service;
  /** The Fastify app, ready but not listening. */
  app: FastifyInstance;
  /** A request through the app, with `user` turned into a bearer token. */
  inject(options: TestInjectOptions): Promise<LightMyRequestResponse>;
  /** A token the service accepts for this user id (the `sub` claim). */
  token(userId: string, options?: { expiresIn?: number | string; data?: Record<string, unknown> }): Promise<string>;
  tasks: TestTasks;
  /** Runs what is still held, closes the app and the task runner. Call it in `afterAll`. */
  close(): Promise<void>;
}

function folder(dir: string | URL | undefined): string | undefined {
  return dir instanceof URL || (typeof dir === 'string' && dir.startsWith('file:')) ? fileURLToPath(dir) : dir;
}

/**
 * Loads the service in `dir` as `klue start` would (config, specs, handlers, setup, and its
 * `async.modules` as a worker would), without listening or Redis: task calls run here, after
 * being encoded, signed, verified and decoded like a queued task, in the context of the call.
 * One at a time per process (the task runtime is process-wide): close it before loading another.
 */
export async function testService(options: TestServiceOptions = {}): Promise<TestService> {
  createRootLogger({ role: 'test' }, { level: options.logLevel ?? process.env.LOG_LEVEL ?? 'silent' });
  // `async.mode: inline` whatever the files say: task calls run here, and nothing (the metrics
  // endpoint's queue gauges, the dashboard) opens a Redis connection.
  const overrides = { ...options.config, async: { ...(isObject(options.config?.async) ? options.config.async : {}), mode: 'inline' } };
  const config = await loadConfig({ dir: folder(options.dir), env: options.env, overrides });
  // Unless the config names one, a secret of the test's own: nothing is written under the service's .klue/.
  config.async.secret ??= randomBytes(32).toString('hex');
  const service = await loadService(config);
  await importTaskModules(config);
  const recorder = config.with_async ? await TaskRecorder.start(config, options.tasks === 'held') : undefined;
  const app = await createApp(service, { docs: false });
  await app.ready();
  const token: TestService['token'] = (userId, opts = {}) => generateToken({ userId, ...opts, config: config.jwt });
  return {
    config,
    service,
    app,
    token,
    async inject({ user, ...request }) {
      if (user !== undefined) request.headers = { ...request.headers, authorization: `Bearer ${await token(user)}` };
      return app.inject(request);
    },
    tasks: {
      get runs() {
        return recorder?.runs ?? [];
      },
      drain: async () => recorder?.drain(),
      clear: () => recorder?.clear(),
    },
    async close() {
      await app.close();
      await recorder?.stop();
    },
  };
}
