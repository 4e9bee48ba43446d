import { basename, extname } from 'node:path';
import type { KlueConfig } from '../core/config/config-types.js';
import { KlueError } from '../core/errors/klue-error.js';
import { ApiPool, type ClientMethod } from '../spec/api-pool.js';
import type { SchemaSet } from '../spec/schemas.js';
import type { LoadedApiView } from './types.js';
import { callOperation } from './call.js';
import { clientOperation } from './client-operation.js';

/** The client of one called API: a method per operation. */
export function createClient(config: KlueConfig, api: LoadedApiView, schemas: SchemaSet): Record<string, ClientMethod> {
  const clientConfig = config.clients[api.spec.name];
  if (!clientConfig) throw new KlueError('CONFIG_INVALID', `${config.file}: clients.${api.spec.name}: missing`);
  const client: Record<string, ClientMethod> = {};
  const where = new Map<string, string>();
  for (const op of api.operations) {
    const plan = clientOperation(op, clientConfig, schemas);
    const other = where.get(plan.name);
    if (other) throw new KlueError('SPEC_INVALID', `${op.file}: ${op.where}: client method '${plan.name}' is also the name of ${other} (set x-bind-client or operationId)`);
    where.set(plan.name, op.where);
    client[plan.name] = (input, options) => callOperation(plan, input, options);
  }
  return client;
}

/**
 * Checks that each API `clients:` names is a spec file under `apis/` (an API's name is its
 * file's base name), before the specs load: a misspelt name would otherwise make its API one to
 * serve, and fail on its missing bindings.
 */
export function checkClientNames(config: KlueConfig): void {
  const names = config.apis.map((f) => basename(f, extname(f)));
  for (const name of Object.keys(config.clients)) {
    if (!names.includes(name)) throw new KlueError('CONFIG_INVALID', `${config.file}: clients.${name}: no API named '${name}' under apis/ (${names.join(', ')})`);
  }
}

/**
 * Gives each API the config lists under `clients:` its `ApiPool.<api>.client`. A name there
 * that is no API under `apis/` fails start-up.
 */
export function attachClients(config: KlueConfig, apis: readonly LoadedApiView[], schemas: SchemaSet): void {
  for (const name of Object.keys(config.clients)) {
    const api = apis.find((a) => a.spec.name === name);
    if (!api) throw new KlueError('CONFIG_INVALID', `${config.file}: clients.${name}: no API named '${name}' under apis/ (${apis.map((a) => a.spec.name).join(', ') || 'none'})`);
    const entry = ApiPool[name];
    if (entry) entry.client = createClient(config, api, schemas);
  }
}
