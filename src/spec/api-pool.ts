import { buildModel, type ModelFactory } from './models.js';
import { processSingleton } from '../util/process-singleton.js';

/** One loaded API as handlers see it: `ApiPool.<api>.model.<Definition>(data)`. */
export interface ApiEntry {
  name: string;
  /** The spec file, relative to the service folder. */
  file: string;
  /** A factory per definition; each builds a validated model object. */
  model: Record<string, ModelFactory>;
  /** The bundled spec document. */
  spec: Record<string, unknown>;
  /** For an API the service calls (`clients:` in the config), a method per operation; empty otherwise. */
  client: Record<string, ClientMethod>;
}

/** Per-call options of a client method. */
export interface ClientCallOptions {
  /** Ms the call may take in all, retries included (default: the API's `timeout`). */
  timeout?: number;
  /** The bearer token to send instead of the current user's; `null` sends none. */
  token?: string | null;
  /** More headers for this call. */
  headers?: Record<string, string>;
  /** Aborts the call (in a task, the task's own signal aborts it too). */
  signal?: AbortSignal;
}

/**
 * `ApiPool.<api>.client.<operation>(input, options)`: `input` is `{ path, query, headers, body }`,
 * or the body itself for an operation that takes only a body. `klue types` types each one.
 */
export type ClientMethod = (input?: unknown, options?: ClientCallOptions) => Promise<unknown>;

/**
 * Typed view of the loaded APIs. `klue types` writes a declaration that augments this interface
 * (`declare module 'klue' { interface ApiPools { helloworld: ... } }`), typing every model factory.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ApiPools {}

const pool = processSingleton('klue.api.pool', (): Record<string, ApiEntry> => ({}));

/** Every API the service loaded, by name. */
export const ApiPool = pool as ApiPools & Record<string, ApiEntry>;

export function registerApi(name: string, file: string, spec: Record<string, unknown>, definitions: string[]): ApiEntry {
  const model: Record<string, ModelFactory> = {};
  for (const def of definitions) {
    const qualified = `${name}.${def}`;
    model[def] = (data) => buildModel(qualified, data);
  }
  const entry: ApiEntry = { name, file, model, spec, client: {} };
  pool[name] = entry;
  return entry;
}
