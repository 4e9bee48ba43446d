import { relative } from 'node:path';
import { glob } from 'tinyglobby';
import { loadBinding, resolveModuleFile, importServiceModule } from './binding.js';
import { rootLogger } from '../core/log/logger.js';
import { compileOperation, loadApis, type LoadedApi } from './load-apis.js';
import type { Operation } from '../spec/operations.js';
import { SchemaSet } from '../spec/schemas.js';
import type { JwtVerifier } from '../auth/jwt.js';
import type { KlueConfig } from '../core/config/config-types.js';
import { useConfig } from '../core/config/current-config.js';
import { useContextPropagation } from '../core/context/context.js';
import { KlueError } from '../core/errors/klue-error.js';
import { addErrorReporter, type ErrorReporter } from '../core/errors/reporter.js';
import type { Handler } from './handler.js';

/** An operation with its handler loaded. */
export interface BoundOperation extends Operation {
  handler: Handler;
  /** False for an operation without a handler: it answers 501 NOT_IMPLEMENTED. */
  bound: boolean;
}

/** What a service's optional setup module (`klue.setup.ts`, or the config's `setup`) may export. */
export interface ServiceSetup {
  /** Receives every error of status >= 500 and every task that failed for good. */
  onError?: ErrorReporter;
}

export interface Service {
  config: KlueConfig;
  apis: LoadedApi[];
  operations: BoundOperation[];
  schemas: SchemaSet;
  /** Present when the config has JWT keys. */
  jwt?: JwtVerifier;
}

export interface LoadServiceOptions {
  /**
   * The service will answer HTTP requests: every model's and operation's validator is compiled
   * now, so a spec mistake fails start-up, and the JWT verifier is made. Default true; a worker
   * and the CLI pass false (they validate no request; models compile when first built).
   */
  http?: boolean;
}

const loaded = new WeakMap<KlueConfig, Promise<Service>>();

async function loadSetup(config: KlueConfig): Promise<void> {
  const named = config.get<string>('setup');
  const file = resolveModuleFile(config.dir, named ?? 'klue.setup');
  if (!file) {
    if (named) throw new KlueError('CONFIG_INVALID', `${config.file}: setup: module '${named}' not found`);
    return;
  }
  const mod = (await importServiceModule(file)) as ServiceSetup;
  if (mod.onError !== undefined) {
    if (typeof mod.onError !== 'function') throw new KlueError('CONFIG_INVALID', `${file}: onError must be a function`);
    addErrorReporter(mod.onError);
  }
}

/** The exports of the `handlers` modules by name; a name two modules export is refused. */
async function handlerExports(config: KlueConfig): Promise<Map<string, { file: string; value: unknown }>> {
  const found = new Map<string, { file: string; value: unknown }>();
  if (config.handlers.length === 0) return found;
  const files = (await glob(config.handlers, { cwd: config.dir, absolute: true, ignore: ['**/node_modules/**', '**/*.d.ts'] })).sort();
  for (const file of files) {
    let mod: Record<string, unknown>;
    try {
      mod = await importServiceModule(file);
    } catch (err) {
      throw new KlueError('BINDING_INVALID', `${config.file}: handlers: importing ${relative(config.dir, file)} failed: ${(err as Error).message}`, { cause: err });
    }
    for (const [name, value] of Object.entries(mod)) {
      if (typeof value !== 'function') continue;
      const other = found.get(name);
      if (other) {
        throw new KlueError('BINDING_INVALID', `${config.file}: handlers: '${name}' is exported by both ${relative(config.dir, other.file)} and ${relative(config.dir, file)}`);
      }
      found.set(name, { file, value });
    }
  }
  return found;
}

/** What an operation without a handler answers. */
function notImplemented(op: Operation): Handler {
  const message = `${op.method.toUpperCase()} ${op.path} is not implemented`;
  return () => {
    throw new KlueError('NOT_IMPLEMENTED', message);
  };
}

async function load(config: KlueConfig, http: boolean): Promise<Service> {
  useConfig(config);
  useContextPropagation(config.context_propagation);
  const schemas = new SchemaSet();
  const called = new Set(Object.keys(config.clients));
  // The client side (undici, its metrics) loads only for a service that calls other APIs.
  const clients = called.size > 0 ? await import('../client/create-client.js') : undefined;
  clients?.checkClientNames(config);
  const apis = await loadApis(config.dir, config.apis, schemas, http, called);
  clients?.attachClients(config, apis, schemas);
  const hasJwt = Boolean(config.jwt.secret ?? config.jwt.public_key);
  let jwt: JwtVerifier | undefined;
  if (hasJwt && http) {
    // Imported only for a service with JWT keys: jose is some fifty modules every worker and
    // every server would load otherwise.
    const { JwtVerifier, useJwtConfig } = await import('../auth/jwt.js');
    jwt = new JwtVerifier(config.jwt);
    useJwtConfig(config.jwt);
    try {
      await jwt.ready();
    } catch (err) {
      throw new KlueError('CONFIG_INVALID', `${config.file}: jwt: ${(err as Error).message}`, { cause: err });
    }
  }
  const operations: BoundOperation[] = [];
  const unbound: string[] = [];
  const broken: KlueError[] = [];
  const byOperationId = await handlerExports(config);
  const seen = new Map<string, string>();
  for (const api of apis) {
    if (!api.served) continue;
    for (const op of api.operations) {
      const where = `${op.file}: ${op.where}`;
      const key = `${op.method} ${op.path}`;
      const other = seen.get(key);
      if (other) throw new KlueError('SPEC_INVALID', `${where}: ${key} is also declared at ${other}`);
      seen.set(key, where);
      if (op.requiresAuth && !hasJwt) {
        throw new KlueError('CONFIG_INVALID', `${where}: requires auth but ${config.file} sets no jwt_secret or jwt_public_key`);
      }
      if (op.binding === undefined) {
        const exported = op.operationId === undefined ? undefined : byOperationId.get(op.operationId);
        if (!exported) unbound.push(`${op.method.toUpperCase()} ${op.path} (${op.operationId ?? 'no operationId'})`);
        if (exported && http) compileOperation(schemas, op);
        operations.push({ ...op, handler: exported ? (exported.value as Handler) : notImplemented(op), bound: exported !== undefined });
        continue;
      }
      let handler: unknown;
      try {
        handler = await loadBinding(config.dir, op.binding, `${where}.x-bind-server`);
        if (typeof handler !== 'function') {
          throw new KlueError('BINDING_INVALID', `${where}.x-bind-server: '${op.binding}' is not a function`);
        }
      } catch (err) {
        // Every broken binding is named at once, not one per start.
        if (!(err instanceof KlueError && err.code === 'BINDING_INVALID')) throw err;
        broken.push(err);
        continue;
      }
      if (http) compileOperation(schemas, op);
      operations.push({ ...op, handler: handler as Handler, bound: true });
    }
  }
  const [firstBroken] = broken;
  if (firstBroken && broken.length === 1) throw firstBroken;
  if (broken.length > 1) {
    throw new KlueError('BINDING_INVALID', `${broken.map((e) => e.message).join('; ')} (${broken.length} x-bind-server bindings cannot be loaded)`, {
      cause: firstBroken,
      details: { bindings: broken.map((e) => e.message) },
    });
  }
  if (unbound.length > 0) {
    const how = config.handlers.length > 0 ? `nor an export of ${config.handlers.join(', ')} named by its operationId` : 'and the config names no handlers modules';
    if (config.strict_bindings) {
      throw new KlueError('BINDING_INVALID', `${config.file}: strict_bindings: ${unbound.length} operation(s) have no x-bind-server ${how}: ${unbound.join(', ')}`);
    }
    if (http) {
      rootLogger().warn({ count: unbound.length, operations: unbound }, `${unbound.length} operation(s) have no handler and answer 501 NOT_IMPLEMENTED: no x-bind-server ${how}`);
    }
  }
  await loadSetup(config);
  return { config, apis, operations, schemas, jwt };
}

/**
 * Loads everything a service is made of — specs, models, handlers, setup — and validates it
 * all, so that any mistake fails start-up with its file and JSON path. The server and the
 * worker both start from here, which is why a worker knows the same models and modules.
 */
export function loadService(config: KlueConfig, options: LoadServiceOptions = {}): Promise<Service> {
  let service = loaded.get(config);
  if (!service) {
    service = load(config, options.http ?? true);
    loaded.set(config, service);
  }
  return service;
}

