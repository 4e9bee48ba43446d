/**
 * JSON schema of the keys klue itself reads; any other key is the app's own and passes.
 *
 * It is the one source of every default: a key's `default` is the value klue uses when the
 * file does not set it (as the file would hold it: durations as `'10m'`), read by
 * `loadConfig()`. A default that depends on something else (another key, an environment
 * variable, package.json) is computed in `loadConfig()` and named here by `x-default`, the
 * rule in words. `config-defaults.test.ts` checks the `@default` tags of config-types.ts and
 * the table of docs/configuration.md against both.
 */
export const configSchema = {
  type: 'object',
  required: ['name'],
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z0-9_.-]+$' },
    version: { type: 'string', 'x-default': "package.json's version, else 0.0.0" },
    apis: {
      type: 'array',
      items: { type: 'string' },
      default: ['apis/*.yaml', 'apis/*.yml', 'apis/*.json'],
      description: 'With the default globs, files that are not specs (fragments that specs $ref) are skipped.',
    },
    handlers: {
      anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
      default: [],
      description: 'Globs of handler modules: an operation without x-bind-server is bound to the export its operationId names.',
    },
    strict_bindings: { type: 'boolean', 'x-default': 'true in production, else false' },
    jwt_secret: { type: 'string', minLength: 1 },
    jwt_public_key: { type: 'string' },
    jwt_private_key: { type: 'string' },
    jwt_algorithm: { enum: ['HS256', 'RS256', 'ES256'], 'x-default': 'RS256 when jwt_public_key is set, else HS256' },
    jwt_audience: { type: 'string' },
    jwt_issuer: { type: 'string' },
    jwt_token_timeout: { type: 'integer', minimum: 1, default: 86_400 },
    jwt_require_exp: { type: 'boolean', default: true },
    jwt_require_sub: { type: 'boolean', default: true },
    env_secrets: { type: 'array', items: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' } },
    with_async: { type: 'boolean', default: false },
    serve_base_path: { type: 'boolean', default: false },
    body_limit: { type: 'integer', minimum: 1, default: 1_048_576 },
    http: {
      type: 'object',
      additionalProperties: false,
      properties: {
        request_timeout: { type: 'integer', minimum: 1, default: 60_000 },
        headers_timeout: { type: 'integer', minimum: 1, default: 20_000 },
        keep_alive_timeout: { type: 'integer', minimum: 1, default: 72_000 },
      },
    },
    metrics_path: { anyOf: [{ type: 'string', pattern: '^/' }, { const: false }], default: '/metrics' },
    metrics_port: { type: 'integer', minimum: 1, maximum: 65535 },
    metrics_token: { type: 'string', minLength: 16 },
    metrics_queue_max_age: { type: 'integer', minimum: 0, default: 1000 },
    context_propagation: { enum: ['auto', 'promises', 'async_hooks'], default: 'auto' },
    setup: {
      type: 'string',
      default: 'klue.setup',
      description: 'Read by the service loader (src/service/load-service.ts), which resolves it to a .ts or .js file.',
    },
    clients: {
      type: 'object',
      description: 'The APIs under apis/ this service calls and does not serve, by API name (the spec file\'s base name).',
      additionalProperties: {
        type: 'object',
        required: ['url'],
        additionalProperties: false,
        properties: {
          url: { type: 'string', pattern: '^https?://[^/?#]+(/[^?#]*)?$' },
          timeout: { type: 'integer', minimum: 1, default: 10_000 },
          connect_timeout: { type: 'integer', minimum: 1, default: 5_000 },
          retries: { type: 'integer', minimum: 0, default: 2 },
          retry_backoff: { type: 'integer', minimum: 0, default: 100 },
          connections: { type: 'integer', minimum: 1, default: 16 },
          max_response_size: { type: 'integer', minimum: 1, default: 10_485_760 },
          send_token: { enum: ['auto', 'always', 'never'], default: 'auto' },
          headers: { type: 'object', additionalProperties: { type: 'string' } },
        },
      },
    },
    async: {
      type: 'object',
      additionalProperties: false,
      properties: {
        mode: { enum: ['queue', 'inline'], default: 'queue' },
        redis_url: {
          type: 'string',
          pattern: '^(redis|rediss|unix)://',
          'x-default': 'REDIS_URL, else an embedded redis-server under .klue/',
        },
        redis_cluster: {
          type: 'array',
          minItems: 1,
          items: { type: 'string' },
          description: 'Each node is host:port, redis://… or rediss://…; loadConfig() checks them.',
        },
        redis_sentinel: {
          type: 'object',
          required: ['name', 'sentinels'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1 },
            sentinels: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[^:]+:\\d+$' } },
            password: { type: 'string' },
            sentinel_password: { type: 'string' },
            tls: { type: 'boolean', default: false },
          },
        },
        queue: { type: 'string', pattern: '^[A-Za-z0-9_.-]+$', 'x-default': 'the service name' },
        secret: {
          type: 'string',
          minLength: 16,
          'x-default': 'KLUE_ASYNC_SECRET, else in dev one generated in .klue/; required in production',
        },
        max_payload: { type: 'integer', minimum: 1024, default: 262_144 },
        attempts: { type: 'integer', minimum: 1, default: 3 },
        backoff: { type: 'integer', minimum: 0, default: 1000 },
        delay: { type: ['integer', 'string'] },
        timeout: { type: ['integer', 'string'] },
        modules: { type: 'array', items: { type: 'string' }, default: [] },
        workers: { type: 'integer', minimum: 0, default: 1 },
        concurrency: { type: 'integer', minimum: 1, default: 10 },
        max_memory_mb: { type: 'integer', minimum: 16 },
        shutdown_timeout: { type: 'integer', minimum: 0, default: 30_000 },
        stalled_interval: { type: 'integer', minimum: 500, default: 30_000 },
        max_stalled: { type: 'integer', minimum: 0, default: 2 },
        unknown_task_grace: { type: ['integer', 'string'], default: '10m' },
        max_task_age: { type: ['integer', 'string'], default: '7d' },
        keep_completed: { type: 'integer', minimum: 0, default: 100 },
        keep_failed: { type: 'integer', minimum: 0, default: 5000 },
        dashboard: {
          type: 'object',
          additionalProperties: false,
          properties: {
            path: { type: 'string', pattern: '^/', default: '/admin/queues' },
            admin_claim: { type: 'string', default: 'admin' },
            basic_user: { type: 'string' },
            basic_password: { type: 'string', minLength: 8 },
          },
        },
      },
    },
  },
} as const;
