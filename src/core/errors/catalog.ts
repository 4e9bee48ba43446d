/**
 * The one catalog of klue's coded errors. Every code here is documented in the README
 * (a test enforces it). `status` is the HTTP status an error of that code answers with;
 * codes that never reach HTTP (start-up, worker-side) still carry the status that best
 * describes them so that reporters can treat all errors alike.
 */
export const ERROR_CATALOG = {
  INVALID_PARAMETER: { status: 400, message: 'A request parameter, header or the body does not match the API spec' },
  ROUTE_NOT_FOUND: { status: 404, message: 'No operation of this service matches the method and path' },
  AUTHORIZATION_HEADER_MISSING: { status: 401, message: 'This operation requires an Authorization: Bearer <token> header' },
  TOKEN_INVALID: { status: 401, message: 'The bearer token is malformed, badly signed, or for another audience or issuer' },
  TOKEN_EXPIRED: { status: 401, message: 'The bearer token has expired' },
  FORBIDDEN: { status: 403, message: 'The credentials do not grant access to this resource' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is larger than the server accepts' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'The request body has a content type this operation does not accept' },
  BAD_REQUEST: { status: 400, message: 'The request is not well-formed HTTP: its URL, headers or framing cannot be read' },
  REQUEST_TIMEOUT: { status: 408, message: 'The request was not received in full within the server timeout' },
  HEADERS_TOO_LARGE: { status: 431, message: 'The request line or headers are larger than the server accepts' },
  METHOD_NOT_IMPLEMENTED: { status: 501, message: 'The server does not implement this HTTP method' },
  NOT_IMPLEMENTED: { status: 501, message: 'The API declares this operation but the service binds no handler to it' },
  BAD_RESPONSE: { status: 500, message: 'The handler returned a response that does not match the API spec' },
  UNHANDLED_SERVER_ERROR: { status: 500, message: 'An unexpected error occurred while handling the request' },
  ASYNC_UNAVAILABLE: { status: 503, message: 'The task queue could not accept the task; nothing was queued' },
  ASYNC_PAYLOAD_TOO_LARGE: { status: 500, message: 'A task call is larger than async.max_payload' },
  UNKNOWN_TASK: { status: 500, message: 'No worker knows the task named in the queued job' },
  BAD_ENVELOPE: { status: 500, message: 'A queued job is not a valid, correctly signed klue task envelope' },
  TASK_TIMEOUT: { status: 500, message: 'A task ran longer than its timeout' },
  TASK_EXPIRED: { status: 500, message: 'A task was not run: its envelope is older than async.max_task_age' },
  TASK_FAILED: { status: 500, message: 'A task failed and will not be retried' },
  WORKER_SHUTDOWN: { status: 503, message: 'The worker stopped before the task finished; the task was put back in the queue' },
  BAD_CLIENT_CALL: { status: 500, message: 'A call to another API does not match its spec; nothing was sent' },
  REMOTE_ERROR: { status: 502, message: 'Another API answered a call with an error' },
  UPSTREAM_UNAVAILABLE: { status: 503, message: 'Another API this call needs could not be reached' },
  UPSTREAM_TIMEOUT: { status: 504, message: 'Another API this call needs did not answer in time' },
  UPSTREAM_RESPONSE_INVALID: { status: 502, message: 'Another API answered with a response that does not match its spec' },
  CONFIG_INVALID: { status: 500, message: 'The klue config file is invalid' },
  ENV_SECRET_MISSING: { status: 500, message: 'A config value names an environment secret that is not set' },
  SPEC_INVALID: { status: 500, message: 'An API spec file is invalid' },
  BINDING_INVALID: { status: 500, message: 'An x-bind-server handler (module or export) cannot be loaded' },
  MODEL_INVALID: { status: 500, message: 'Data given to a model constructor does not match its definition' },
  TASK_VALUE_INVALID: { status: 500, message: 'A task call argument or task result is not a value a task envelope carries' },
  TASK_OPTIONS_INVALID: { status: 500, message: 'A task definition or call has invalid options' },
  ASYNC_ALREADY_STARTED: { status: 500, message: 'The async runtime is already started in this process with another config' },
  DUPLICATE_TASK: { status: 500, message: 'Two async tasks share one name' },
  PORT_IN_USE: { status: 500, message: 'The port the server should listen on is taken or not allowed' },
  EMBEDDED_REDIS_FAILED: { status: 500, message: 'The embedded redis-server did not start' },
  CLI_INVALID: { status: 400, message: 'A klue command was given arguments it cannot act on' },
  REDIS_NOT_INSTALLED: { status: 500, message: 'redis-server is needed for the embedded queue and is not installed' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export const ERROR_CODES = Object.keys(ERROR_CATALOG) as ErrorCode[];
