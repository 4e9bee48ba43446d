import type { Dispatcher } from 'undici';
import type { ClientConfig } from '../core/config/config-types.js';
import { processSingleton } from '../util/process-singleton.js';

type Undici = typeof import('undici');

// undici is imported on the first call: a process that calls no API (most workers, the CLI) never loads it.
let undici: Undici | undefined;
let loading: Promise<Undici> | undefined;

/** One keep-alive pool per API origin and settings, for the whole process. */
const pools = processSingleton('klue.client.pools', () => new Map<string, Dispatcher>());

function make(lib: Undici, config: ClientConfig, key: string): Dispatcher {
  const pool = new lib.Pool(new URL(config.url).origin, { connections: config.connections, connect: { timeout: config.connect_timeout } });
  pools.set(key, pool);
  return pool;
}

/** The pool of an API: at once when undici is loaded and the pool made, else once they are. */
export function poolFor(config: ClientConfig): Dispatcher | Promise<Dispatcher> {
  const key = `${new URL(config.url).origin} ${config.connections} ${config.connect_timeout}`;
  const pool = pools.get(key);
  if (pool) return pool;
  if (undici) return make(undici, config, key);
  loading ??= import('undici').then((lib) => (undici = lib));
  return loading.then((lib) => pools.get(key) ?? make(lib, config, key));
}

/** Closes every pool (their idle sockets do not hold the process open, but tests and shutdowns end them). */
export async function closeClientPools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.close()));
}
