import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { glob } from 'tinyglobby';
import { parse as parseYaml } from 'yaml';
import { KlueError } from '../errors/klue-error.js';
import { parseDuration } from '../../util/duration.js';
import { isObject } from '../../util/is-object.js';
import { configSchema } from './config-schema.js';
import generatedValidator from './validate-config.generated.js';
import type { ContextPropagation } from '../context/propagation.js';
import { isProduction, type AsyncConfig, type ClientConfig, type HttpConfig, type KlueConfig } from './config-types.js';
import { substituteEnvSecrets } from './env-secrets.js';
import { closeKey } from './key-suggestions.js';
import { withDeprecatedReads } from './jwt-settings.js';
import { rootLogger } from '../log/logger.js';

export interface LoadConfigOptions {
  /** The service folder. Default: the current directory. */
  dir?: string;
  /** Environment name; `klue-config.<env>.yaml` is merged over the base file when it exists. */
  env?: string;
  /** Values merged over the file (tests, CLI flags). */
  overrides?: Record<string, unknown>;
}

/** Config file names, in the order they are looked for. */
export const CONFIG_FILES = ['klue-config.yaml', 'klue-config.yml', 'pym-config.yaml'];

/** The service's config file, or undefined when there is none. */
export function findConfigFile(dir: string): string | undefined {
  return CONFIG_FILES.map((f) => join(dir, f)).find((f) => existsSync(f));
}

function readYaml(file: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new KlueError('CONFIG_INVALID', `${file}: ${(err as Error).message}`, { cause: err });
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new KlueError('CONFIG_INVALID', `${file}: the top level must be a mapping of keys`);
  }
  return doc as Record<string, unknown>;
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isObject(b) && isObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

// Compiled from configSchema ahead of time (scripts/config-validator.ts): no Ajv at start-up.
const validateSchema = generatedValidator as unknown as ValidateFunction;

function validate(file: string, raw: Record<string, unknown>): void {
  if (validateSchema(raw)) return;
  const problems = (validateSchema.errors ?? []).map((e) => {
    const path = e.instancePath ? e.instancePath.slice(1).replaceAll('/', '.') : '(top level)';
    const extra = e.keyword === 'additionalProperties' ? ` '${String(e.params.additionalProperty)}'` : '';
    return `${path}: ${e.message ?? 'is invalid'}${extra}`;
  });
  throw new KlueError('CONFIG_INVALID', `${file}: ${problems.join('; ')}`, { details: { file, problems } });
}

const KNOWN_KEYS = Object.keys(configSchema.properties);

/**
 * Warns of each top-level key klue does not read that is close to one it does (`with_asycn`):
 * other unknown keys are the app's own and stay silent.
 */
function warnMisspeltKeys(file: string, raw: Record<string, unknown>): void {
  for (const key of Object.keys(raw)) {
    if (KNOWN_KEYS.includes(key)) continue;
    const known = closeKey(key, KNOWN_KEYS);
    if (known === undefined) continue;
    rootLogger().warn({ file, key, did_you_mean: known }, `config: ${file}: '${key}' is not a klue key, so klue ignores it: did you mean '${known}'?`);
  }
}

/** A top-level `swagger:` / `openapi:` key, in YAML (at the start of a line) or JSON. */
const SPEC_KEY = /^(?:swagger|openapi)\s*:|"(?:swagger|openapi)"\s*:/m;

/**
 * Whether a file the default globs matched is a spec rather than a fragment that specs $ref.
 * By its text, not by parsing it: the spec loader parses it anyway, and reports its syntax
 * errors with their position.
 */
function isSpecDocument(file: string): boolean {
  try {
    return SPEC_KEY.test(readFileSync(file, 'utf8'));
  } catch {
    return true; // unreadable: let the spec loader say why
  }
}

function readPackageVersion(dir: string): string | undefined {
  const pkg = join(dir, 'package.json');
  if (!existsSync(pkg)) return undefined;
  const version = (JSON.parse(readFileSync(pkg, 'utf8')) as { version?: unknown }).version;
  return typeof version === 'string' ? version : undefined;
}

// The schema's defaults (config-schema.ts is their one source), by section.
const TOP = configSchema.properties;
const HTTP = TOP.http.properties;
const ASYNC = TOP.async.properties;
const SENTINEL = ASYNC.redis_sentinel.properties;
const DASHBOARD = ASYNC.dashboard.properties;
const CLIENT = TOP.clients.additionalProperties.properties;

/** The `async:` section as the file holds it: its durations are ms or strings like `'10m'`. */
type AsyncSection = Omit<Partial<AsyncConfig>, 'unknown_task_grace' | 'max_task_age'> & { unknown_task_grace?: number | string; max_task_age?: number | string };

/** A cluster node as the file gives it: `host:port` (`[v6addr]:port` too), or a URL with a scheme. */
const HOST_PORT = /^(?:\[[0-9A-Fa-f:.]+\]|[^:/\s[\]@]+):(\d{1,5})$/;
const URL_SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;

/**
 * Checks each `async.redis_cluster` entry is `host:port`, `redis://…` or `rediss://…` (what
 * ioredis' Cluster client is given), so a typo fails at load rather than when Redis connects.
 */
function checkClusterNodes(file: string, nodes: readonly string[] | undefined): void {
  nodes?.forEach((entry, i) => {
    const key = `async.redis_cluster[${i}]`;
    const fail = (why: string): never => {
      throw new KlueError('CONFIG_INVALID', `${file}: ${key}: '${entry}' ${why}`, { details: { file, key, value: entry } });
    };
    const scheme = URL_SCHEME.exec(entry)?.[1]?.toLowerCase();
    if (scheme === undefined) {
      const port = HOST_PORT.exec(entry)?.[1];
      if (port === undefined || Number(port) < 1 || Number(port) > 65535) fail('is not host:port, redis://… or rediss://…');
      return;
    }
    if (scheme !== 'redis' && scheme !== 'rediss') fail('is not host:port, redis://… or rediss://…: only redis:// and rediss:// nodes can form a cluster');
    let url: URL | undefined;
    try {
      url = new URL(entry);
    } catch {
      // reported below
    }
    if (!url?.hostname) fail(`is not a valid ${scheme}:// URL (${scheme}://[user:password@]host[:port])`);
  });
}

function asyncConfig(file: string, name: string, section: Record<string, unknown>): AsyncConfig {
  const a = section as AsyncSection;
  const ms = (key: 'delay' | 'timeout' | 'unknown_task_grace' | 'max_task_age', value: number | string): number => {
    try {
      return parseDuration(value, `async.${key}`);
    } catch (err) {
      throw new KlueError('CONFIG_INVALID', `${file}: ${(err as Error).message}`);
    }
  };
  // delay and timeout are kept as written (tasks read them as defaults); checked here all the same.
  if (a.delay !== undefined) ms('delay', a.delay);
  if (a.timeout !== undefined) ms('timeout', a.timeout);
  const unknownTaskGrace = ms('unknown_task_grace', a.unknown_task_grace ?? ASYNC.unknown_task_grace.default);
  const maxTaskAge = ms('max_task_age', a.max_task_age ?? ASYNC.max_task_age.default);
  checkClusterNodes(file, a.redis_cluster);
  return {
    mode: a.mode ?? ASYNC.mode.default,
    // redis_url, queue and secret default by a rule, which each one's `x-default` in the schema says.
    redis_url: a.redis_url ?? process.env.REDIS_URL,
    redis_cluster: a.redis_cluster,
    redis_sentinel: a.redis_sentinel ? { ...a.redis_sentinel, tls: a.redis_sentinel.tls ?? SENTINEL.tls.default } : undefined,
    queue: a.queue ?? name,
    secret: a.secret ?? process.env.KLUE_ASYNC_SECRET,
    max_payload: a.max_payload ?? ASYNC.max_payload.default,
    attempts: a.attempts ?? ASYNC.attempts.default,
    backoff: a.backoff ?? ASYNC.backoff.default,
    delay: a.delay,
    timeout: a.timeout,
    modules: a.modules ?? [...ASYNC.modules.default],
    workers: a.workers ?? ASYNC.workers.default,
    concurrency: a.concurrency ?? ASYNC.concurrency.default,
    max_memory_mb: a.max_memory_mb,
    shutdown_timeout: a.shutdown_timeout ?? ASYNC.shutdown_timeout.default,
    stalled_interval: a.stalled_interval ?? ASYNC.stalled_interval.default,
    max_stalled: a.max_stalled ?? ASYNC.max_stalled.default,
    unknown_task_grace: unknownTaskGrace,
    max_task_age: maxTaskAge,
    keep_completed: a.keep_completed ?? ASYNC.keep_completed.default,
    keep_failed: a.keep_failed ?? ASYNC.keep_failed.default,
    dashboard: a.dashboard
      ? { ...a.dashboard, path: a.dashboard.path ?? DASHBOARD.path.default, admin_claim: a.dashboard.admin_claim ?? DASHBOARD.admin_claim.default }
      : undefined,
  };
}

function httpConfig(file: string, section: Partial<HttpConfig>): HttpConfig {
  const http: HttpConfig = {
    request_timeout: section.request_timeout ?? HTTP.request_timeout.default,
    headers_timeout: section.headers_timeout ?? HTTP.headers_timeout.default,
    keep_alive_timeout: section.keep_alive_timeout ?? HTTP.keep_alive_timeout.default,
  };
  // Node refuses to start a server whose headers may take longer than the whole request.
  if (http.headers_timeout > http.request_timeout) {
    throw new KlueError('CONFIG_INVALID', `${file}: http.headers_timeout (${http.headers_timeout}) must not exceed http.request_timeout (${http.request_timeout})`);
  }
  return http;
}

/** `clients:` with every API's defaults filled in. */
function clientsConfig(section: Record<string, unknown>): Record<string, ClientConfig> {
  return Object.fromEntries(
    Object.entries(section as Record<string, Partial<ClientConfig> & { url: string }>).map(([api, c]) => [
      api,
      {
        url: c.url,
        timeout: c.timeout ?? CLIENT.timeout.default,
        connect_timeout: c.connect_timeout ?? CLIENT.connect_timeout.default,
        retries: c.retries ?? CLIENT.retries.default,
        retry_backoff: c.retry_backoff ?? CLIENT.retry_backoff.default,
        connections: c.connections ?? CLIENT.connections.default,
        max_response_size: c.max_response_size ?? CLIENT.max_response_size.default,
        send_token: c.send_token ?? CLIENT.send_token.default,
        headers: c.headers,
      },
    ]),
  );
}

function getPath(raw: Record<string, unknown>, key: string): unknown {
  if (key in raw) return raw[key];
  let cur: unknown = raw;
  for (const part of key.split('.')) {
    if (!isObject(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

/**
 * Reads `klue-config.yaml` (or the original's `pym-config.yaml`) from the service folder,
 * merges `klue-config.<env>.yaml` over it, substitutes env secrets and validates every key
 * klue reads. Throws a `CONFIG_INVALID` / `ENV_SECRET_MISSING` error naming file and key.
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<KlueConfig> {
  const dir = resolve(options.dir ?? process.cwd());
  const file = findConfigFile(dir);
  if (!file) {
    throw new KlueError('CONFIG_INVALID', `${dir}: no ${CONFIG_FILES.join(' or ')} found (run klue in the service folder)`);
  }
  let raw = readYaml(file);
  const env = options.env ?? process.env.KLUE_ENV ?? process.env.NODE_ENV ?? 'dev';
  let source = file;
  if (options.env) {
    const envFile = join(dir, `klue-config.${options.env}.yaml`);
    if (existsSync(envFile)) {
      raw = deepMerge(raw, readYaml(envFile));
      source = `${file} + ${basename(envFile)}`;
    }
  }
  if (options.overrides) raw = deepMerge(raw, options.overrides);
  raw = substituteEnvSecrets(source, raw);
  validate(source, raw);
  warnMisspeltKeys(source, raw);

  const name = raw.name as string;
  const apiGlobs = (raw.apis as string[] | undefined) ?? [...TOP.apis.default];
  // With the default globs, YAML files that are not specs (shared fragments that specs $ref) are skipped.
  const apis = (await glob(apiGlobs, { cwd: dir, absolute: true })).sort().filter((f) => raw.apis !== undefined || isSpecDocument(f));
  if (apis.length === 0) {
    throw new KlueError('CONFIG_INVALID', `${source}: apis: no spec file matches ${apiGlobs.join(', ')} in ${dir}`);
  }
  const publicKey = raw.jwt_public_key as string | undefined;
  const asyncSection = isObject(raw.async) ? raw.async : {};
  return {
    dir,
    file,
    env,
    name,
    // `version` and `jwt_algorithm` default by a rule: the schema's `x-default` says it.
    version: (raw.version as string | undefined) ?? readPackageVersion(dir) ?? '0.0.0',
    apis,
    handlers: typeof raw.handlers === 'string' ? [raw.handlers] : ((raw.handlers as string[] | undefined) ?? [...TOP.handlers.default]),
    strict_bindings: (raw.strict_bindings as boolean | undefined) ?? isProduction({ env }),
    with_async: (raw.with_async as boolean | undefined) ?? TOP.with_async.default,
    serve_base_path: (raw.serve_base_path as boolean | undefined) ?? TOP.serve_base_path.default,
    body_limit: (raw.body_limit as number | undefined) ?? TOP.body_limit.default,
    http: httpConfig(source, isObject(raw.http) ? raw.http : {}),
    metrics_path: (raw.metrics_path as string | false | undefined) ?? TOP.metrics_path.default,
    metrics_port: raw.metrics_port as number | undefined,
    metrics_token: raw.metrics_token as string | undefined,
    metrics_queue_max_age: (raw.metrics_queue_max_age as number | undefined) ?? TOP.metrics_queue_max_age.default,
    context_propagation: (raw.context_propagation as ContextPropagation | undefined) ?? TOP.context_propagation.default,
    jwt: withDeprecatedReads({
      secret: raw.jwt_secret as string | undefined,
      public_key: publicKey,
      private_key: raw.jwt_private_key as string | undefined,
      algorithm: (raw.jwt_algorithm as 'HS256' | 'RS256' | 'ES256' | undefined) ?? (publicKey ? 'RS256' : 'HS256'),
      audience: raw.jwt_audience as string | undefined,
      issuer: raw.jwt_issuer as string | undefined,
      token_timeout: (raw.jwt_token_timeout as number | undefined) ?? TOP.jwt_token_timeout.default,
      require_exp: (raw.jwt_require_exp as boolean | undefined) ?? TOP.jwt_require_exp.default,
      require_sub: (raw.jwt_require_sub as boolean | undefined) ?? TOP.jwt_require_sub.default,
    }),
    async: asyncConfig(source, name, asyncSection),
    clients: clientsConfig(isObject(raw.clients) ? raw.clients : {}),
    raw,
    get: <T>(key: string) => getPath(raw, key) as T | undefined,
  };
}

/** Name of this process' container or host, for `/version`. */
export function containerName(): string {
  return process.env.KLUE_CONTAINER ?? process.env.HOSTNAME ?? hostname();
}
