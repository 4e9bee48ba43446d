import type { ContextPropagation } from '../context/propagation.js';

/** Dashboard settings (`async.dashboard`); the dashboard is off unless this is set. */
export interface DashboardConfig {
  /**
   * URL path of the dashboard.
   * @default '/admin/queues'
   */
  path: string;
  /**
   * A JWT claim that must be `true` (or include `admin`) for access.
   * @default 'admin'
   */
  admin_claim?: string;
  /** Basic-auth user. Set with `basic_password` to allow basic auth. */
  basic_user?: string;
  /** Basic-auth password; name an env secret here. */
  basic_password?: string;
}

/** `async.redis_sentinel`: where ioredis finds the current master. */
export interface SentinelConfig {
  /** The master group name the sentinels monitor. */
  name: string;
  /** Sentinel addresses, `host:port`. */
  sentinels: string[];
  /** Password of the Redis master/replicas (name an env secret). Default none. */
  password?: string;
  /** Password of the sentinels themselves. Default none. */
  sentinel_password?: string;
  /**
   * Connect to master and sentinels over TLS.
   * @default false
   */
  tls?: boolean;
}

/** The `async:` section of klue-config.yaml. */
export interface AsyncConfig {
  /**
   * `queue` sends tasks to Redis; `inline` runs them in-process after a full envelope round trip (tests).
   * @default 'queue'
   */
  mode: 'queue' | 'inline';
  /**
   * `redis://`, `rediss://` or `unix://` URL.
   * @default `REDIS_URL`, else an embedded redis-server under `.klue/`
   */
  redis_url?: string;
  /** Redis Cluster nodes (`host:port`, `redis://…` or `rediss://…`, checked at load); when set, klue uses ioredis' Cluster client. */
  redis_cluster?: string[];
  /** Redis Sentinel: the master's `name` and the `sentinels` (`host:port`); ioredis follows failovers. Default none. */
  redis_sentinel?: SentinelConfig;
  /**
   * Prefix of every Redis key and name of the default queue.
   * @default the service name
   */
  queue: string;
  /**
   * HMAC-SHA256 key for task envelopes; name an env secret here.
   * @default `KLUE_ASYNC_SECRET`, else in dev one generated in `.klue/`; required in production
   */
  secret?: string;
  /**
   * Largest serialised task call in bytes.
   * @default 262144 (256 KiB)
   */
  max_payload: number;
  /**
   * Attempts per task, first run included.
   * @default 3
   */
  attempts: number;
  /**
   * First retry delay in ms; doubles each attempt, with jitter.
   * @default 1000
   */
  backoff: number;
  /** Default delay before a task may run (ms or '10s', '5m'). Default none. */
  delay?: number | string;
  /** Default task timeout (ms or '30s'). Default none. */
  timeout?: number | string;
  /**
   * Globs (relative to the service) of modules that define tasks, imported by workers.
   * @default []
   */
  modules: string[];
  /**
   * Worker processes `klue start` runs.
   * @default 1
   */
  workers: number;
  /**
   * Tasks each worker process runs at once.
   * @default 10
   */
  concurrency: number;
  /** A worker whose RSS passes this many MB finishes its tasks and is replaced. Default none. */
  max_memory_mb?: number;
  /**
   * Ms to let active tasks finish on shutdown.
   * @default 30000
   */
  shutdown_timeout: number;
  /**
   * Ms between checks for tasks whose worker died (and lock lifetime); such tasks run again.
   * @default 30000
   */
  stalled_interval: number;
  /**
   * Times a task may lose its worker before it is failed for good instead of run again.
   * @default 2
   */
  max_stalled: number;
  /**
   * Ms (`'10m'` in the file) after it was queued during which a task a worker does not know (an
   * older worker, during a rolling deploy) is put back for a worker that does, without using an
   * attempt. Past it, such a task uses its attempts and then fails with UNKNOWN_TASK. The same
   * holds for a job whose envelope is newer than the worker reads, which then fails with
   * BAD_ENVELOPE.
   * @default '10m'
   */
  unknown_task_grace: number;
  /**
   * Ms (`'7d'` in the file) a task call stays runnable after it is queued (plus its delay): past
   * it the envelope is refused with TASK_EXPIRED, and workers keep their record of the envelope's
   * runs (against replays) this long.
   * @default '7d'
   */
  max_task_age: number;
  /**
   * Completed jobs kept for inspection (count).
   * @default 100
   */
  keep_completed: number;
  /**
   * Failed jobs kept for inspection (count).
   * @default 5000
   */
  keep_failed: number;
  /** bull-board dashboard; off by default. */
  dashboard?: DashboardConfig;
}

/**
 * The `http:` section: how long a client may take, so that slow or stalled clients cannot hold
 * connections forever. Node checks the request and headers timeouts every second at most.
 */
export interface HttpConfig {
  /**
   * Ms a client has to send its whole request, body included (answered 408 and closed past it).
   * @default 60000
   */
  request_timeout: number;
  /**
   * Ms a client has to send the request line and headers; at most `request_timeout`.
   * @default 20000
   */
  headers_timeout: number;
  /**
   * Ms an idle keep-alive connection stays open; above the usual 60 s of load balancers, so they close first.
   * @default 72000
   */
  keep_alive_timeout: number;
}

/**
 * One API this service calls (`clients.<api>`): where it is and how calls to it behave. An API
 * named here is called through `ApiPool.<api>.client` and not served.
 */
export interface ClientConfig {
  /** Base URL the spec's paths are appended to (`http://hello:8080`, or with a path prefix); name an env secret to set it per deploy. */
  url: string;
  /**
   * Ms a call may take in all, retries included, before it fails with UPSTREAM_TIMEOUT (per call: the `timeout` option).
   * @default 10000
   */
  timeout: number;
  /**
   * Ms to open a connection.
   * @default 5000
   */
  connect_timeout: number;
  /**
   * Retries after a connection failure: any method when nothing was sent (refused, DNS), idempotent methods otherwise; answers are never retried.
   * @default 2
   */
  retries: number;
  /**
   * First retry delay in ms; doubles each retry, with jitter.
   * @default 100
   */
  retry_backoff: number;
  /**
   * Keep-alive connections to the API at most (one pool per API and process).
   * @default 16
   */
  connections: number;
  /**
   * Largest response body in bytes; a larger one fails with UPSTREAM_RESPONSE_INVALID.
   * @default 10485760 (10 MiB)
   */
  max_response_size: number;
  /**
   * Which calls carry the current user's bearer token: `auto` those of operations the spec says
   * require auth, `always` every call, `never` none (a third-party API).
   * @default 'auto'
   */
  send_token: 'auto' | 'always' | 'never';
  /** Headers sent with every call (an API key: name an env secret); an `authorization` here replaces the user's token. Default none. */
  headers?: Record<string, string>;
}

/** JWT settings, from the `jwt_*` keys: each field is its key without `jwt_`. */
export interface JwtConfig {
  /** HS256 shared secret (`jwt_secret`). */
  secret?: string;
  /** PEM public key for RS256/ES256 (`jwt_public_key`). */
  public_key?: string;
  /** PEM private key, only to issue tokens with RS256/ES256 (`jwt_private_key`). */
  private_key?: string;
  /**
   * Pinned algorithm (`jwt_algorithm`).
   * @default `RS256` when `jwt_public_key` is set, else `HS256`
   */
  algorithm: 'HS256' | 'RS256' | 'ES256';
  audience?: string;
  issuer?: string;
  /**
   * Lifetime in seconds of tokens from `generateToken` (`jwt_token_timeout`).
   * @default 86400
   */
  token_timeout: number;
  /**
   * Refuse tokens without an `exp` claim, which would be valid forever (`jwt_require_exp`).
   * @default true
   */
  require_exp: boolean;
  /**
   * Refuse tokens without a non-empty string `sub` claim (`jwt_require_sub`).
   * @default true
   */
  require_sub: boolean;
}

/**
 * A JWT config as klue's API accepts it (`generateToken({ config })`, `JwtVerifier`): the
 * former camelCase fields are still read, with one deprecation warning naming the new one.
 */
export type JwtConfigInput = Omit<JwtConfig, 'token_timeout' | 'require_exp' | 'require_sub'> &
  Partial<Pick<JwtConfig, 'token_timeout' | 'require_exp' | 'require_sub'>> & {
    /** @deprecated use `public_key` */
    publicKey?: string;
    /** @deprecated use `private_key` */
    privateKey?: string;
    /** @deprecated use `token_timeout` */
    tokenTimeout?: number;
    /** @deprecated use `require_exp` */
    requireExp?: boolean;
    /** @deprecated use `require_sub` */
    requireSub?: boolean;
  };

/** The loaded, validated service config. */
export interface KlueConfig {
  /** The service's folder. */
  dir: string;
  /** The config file read (absolute path). */
  file: string;
  /** The `--env` given, or `NODE_ENV`, or `dev`. */
  env: string;
  name: string;
  /**
   * Reported by `/version`.
   * @default package.json's version, else `0.0.0`
   */
  version: string;
  /**
   * Absolute paths of the API spec files the `apis` globs match (with the default globs, only
   * the files that are specs, not the fragments they `$ref`).
   * @default 'apis/*.yaml', 'apis/*.yml', 'apis/*.json'
   */
  apis: string[];
  /**
   * Globs (relative to the service) of handler modules. An operation without `x-bind-server`
   * is bound to the export of these modules that its `operationId` names.
   * @default []
   */
  handlers: string[];
  /**
   * Refuse to start while an operation has no handler, instead of answering it 501
   * `NOT_IMPLEMENTED` after one start-up warning that lists them all.
   * @default true in production, else false
   */
  strict_bindings: boolean;
  /**
   * Enables tasks; `klue start` also runs workers.
   * @default false
   */
  with_async: boolean;
  /**
   * Serve operations under the spec's basePath / server path (the original did not).
   * @default false
   */
  serve_base_path: boolean;
  /**
   * Largest accepted request body in bytes.
   * @default 1048576
   */
  body_limit: number;
  http: HttpConfig;
  /**
   * Path of the Prometheus endpoint, or false for none.
   * @default '/metrics'
   */
  metrics_path: string | false;
  /**
   * Serve the metrics on this port (all interfaces) instead of the main one, for Prometheus to
   * reach where the public cannot. Default none: on the main port, except in production, where
   * the main port serves them only with `metrics_token` (404 otherwise).
   */
  metrics_port?: number;
  /** Bearer token every scrape must send (`Authorization: Bearer <token>`); name an env secret. Default none. */
  metrics_token?: string;
  /**
   * Ms the queue depths of `klue_queue_jobs` are reused: scrapes read them from Redis at most once per this period.
   * @default 1000
   */
  metrics_queue_max_age: number;
  /**
   * How the context (`currentUser()`, `log()`, task calls) follows the work a request or task
   * starts: `promises` (await and promise chains; wrap other callbacks with `bindContext()`),
   * `async_hooks` (Node's AsyncLocalStorage, callbacks too) or `auto`: `async_hooks` where Node
   * builds it on AsyncContextFrame (Node 24+), else `promises`.
   * @default 'auto'
   */
  context_propagation: ContextPropagation;
  jwt: JwtConfig;
  async: AsyncConfig;
  /** The APIs this service calls, by API name (`clients:`); empty when it calls none. */
  clients: Record<string, ClientConfig>;

  /** Every key of the file, env secrets substituted. */
  raw: Record<string, unknown>;
  /** Reads any key (dotted paths allowed), e.g. `config.get('uuid_file_path')`. */
  get<T = unknown>(key: string): T | undefined;
}

export function isProduction(config: Pick<KlueConfig, 'env'>): boolean {
  return ['prod', 'production'].includes(config.env) || process.env.NODE_ENV === 'production';
}
