import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { glob } from 'tinyglobby';
import { parse as parseYaml } from 'yaml';
import { KlueError } from '../errors/klue-error.js';
import { parseDuration } from '../../util/duration.js';
import { isObject } from '../../util/is-object.js';
import { configSchema } from './config-schema.js';
import type { ContextPropagation } from '../context/propagation.js';
import type { AsyncConfig, HttpConfig, KlueConfig } from './config-types.js';
import { substituteEnvSecrets } from './env-secrets.js';

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

const validateSchema = new Ajv({ allErrors: true, strict: false }).compile(configSchema);

function validate(file: string, raw: Record<string, unknown>): void {
  if (validateSchema(raw)) return;
  const problems = (validateSchema.errors ?? []).map((e) => {
    const path = e.instancePath ? e.instancePath.slice(1).replaceAll('/', '.') : '(top level)';
    const extra = e.keyword === 'additionalProperties' ? ` '${String(e.params.additionalProperty)}'` : '';
    return `${path}: ${e.message ?? 'is invalid'}${extra}`;
  });
  throw new KlueError('CONFIG_INVALID', `${file}: ${problems.join('; ')}`, { details: { file, problems } });
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

function asyncConfig(file: string, name: string, section: Record<string, unknown>): AsyncConfig {
  const a = section as Omit<Partial<AsyncConfig>, 'unknown_task_grace' | 'max_task_age'> & { unknown_task_grace?: number | string; max_task_age?: number | string };
  const durations: Partial<Record<'delay' | 'timeout' | 'unknown_task_grace' | 'max_task_age', number>> = {};
  for (const key of ['delay', 'timeout', 'unknown_task_grace', 'max_task_age'] as const) {
    const v = a[key];
    if (v === undefined) continue;
    try {
      durations[key] = parseDuration(v, `async.${key}`);
    } catch (err) {
      throw new KlueError('CONFIG_INVALID', `${file}: ${(err as Error).message}`);
    }
  }
  return {
    mode: a.mode ?? 'queue',
    redis_url: a.redis_url ?? process.env.REDIS_URL,
    redis_cluster: a.redis_cluster,
    redis_sentinel: a.redis_sentinel,
    queue: a.queue ?? name,
    secret: a.secret ?? process.env.KLUE_ASYNC_SECRET,
    max_payload: a.max_payload ?? 256 * 1024,
    attempts: a.attempts ?? 3,
    backoff: a.backoff ?? 1000,
    delay: a.delay,
    timeout: a.timeout,
    modules: a.modules ?? [],
    workers: a.workers ?? 1,
    concurrency: a.concurrency ?? 10,
    max_memory_mb: a.max_memory_mb,
    shutdown_timeout: a.shutdown_timeout ?? 30_000,
    stalled_interval: a.stalled_interval ?? 30_000,
    max_stalled: a.max_stalled ?? 2,
    unknown_task_grace: durations.unknown_task_grace ?? 10 * 60_000,
    max_task_age: durations.max_task_age ?? 7 * 86_400_000,
    keep_completed: a.keep_completed ?? 100,
    keep_failed: a.keep_failed ?? 5000,
    dashboard: a.dashboard ? { ...a.dashboard, path: a.dashboard.path ?? '/admin/queues' } : undefined,
  };
}

function httpConfig(file: string, section: Partial<HttpConfig>): HttpConfig {
  const http: HttpConfig = {
    request_timeout: section.request_timeout ?? 60_000,
    headers_timeout: section.headers_timeout ?? 20_000,
    keep_alive_timeout: section.keep_alive_timeout ?? 72_000,
  };
  // Node refuses to start a server whose headers may take longer than the whole request.
  if (http.headers_timeout > http.request_timeout) {
    throw new KlueError('CONFIG_INVALID', `${file}: http.headers_timeout (${http.headers_timeout}) must not exceed http.request_timeout (${http.request_timeout})`);
  }
  return http;
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

  const name = raw.name as string;
  const apiGlobs = (raw.apis as string[] | undefined) ?? ['apis/*.yaml', 'apis/*.yml', 'apis/*.json'];
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
    version: (raw.version as string | undefined) ?? readPackageVersion(dir) ?? '0.0.0',
    apis,
    with_async: raw.with_async === true,
    serve_base_path: raw.serve_base_path === true,
    body_limit: (raw.body_limit as number | undefined) ?? 1024 * 1024,
    http: httpConfig(source, isObject(raw.http) ? raw.http : {}),
    metrics_path: (raw.metrics_path as string | false | undefined) ?? '/metrics',
    metrics_port: raw.metrics_port as number | undefined,
    metrics_token: raw.metrics_token as string | undefined,
    metrics_queue_max_age: (raw.metrics_queue_max_age as number | undefined) ?? 1000,
    context_propagation: (raw.context_propagation as ContextPropagation | undefined) ?? 'auto',
    jwt: {
      secret: raw.jwt_secret as string | undefined,
      publicKey,
      privateKey: raw.jwt_private_key as string | undefined,
      algorithm: (raw.jwt_algorithm as 'HS256' | 'RS256' | 'ES256' | undefined) ?? (publicKey ? 'RS256' : 'HS256'),
      audience: raw.jwt_audience as string | undefined,
      issuer: raw.jwt_issuer as string | undefined,
      tokenTimeout: (raw.jwt_token_timeout as number | undefined) ?? 86_400,
      requireExp: (raw.jwt_require_exp as boolean | undefined) ?? true,
      requireSub: (raw.jwt_require_sub as boolean | undefined) ?? true,
    },
    async: asyncConfig(source, name, asyncSection),
    raw,
    get: <T>(key: string) => getPath(raw, key) as T | undefined,
  };
}

/** Name of this process' container or host, for `/version`. */
export function containerName(): string {
  return process.env.KLUE_CONTAINER ?? process.env.HOSTNAME ?? hostname();
}
