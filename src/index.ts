// `klue`: what handler code uses at run time. It loads no HTTP server, queue client, spec parser
// or JWT library: async tasks are in 'klue/async'; loading and starting a service, and issuing
// tokens, in 'klue/server'.
export { config } from './core/config/current-config.js';
export type { KlueConfig, AsyncConfig, JwtConfig, JwtConfigInput, DashboardConfig } from './core/config/config-types.js';

export { ApiPool, type ApiEntry, type ApiPools, type ClientCallOptions, type ClientMethod } from './spec/api-pool.js';
export { RemoteError, type RemoteAnswer } from './client/remote-error.js';
export { modelNameOf, isModel, type Model, type ModelFactory } from './spec/models.js';

export {
  currentUser,
  currentToken,
  currentRequest,
  currentTask,
  taskSignal,
  currentContext,
  bindContext,
  type KlueContext,
  type UserClaims,
  type RequestInfo,
  type TaskInfo,
} from './core/context/context.js';
export type { ContextPropagation } from './core/context/propagation.js';
export { log } from './core/log/logger.js';

export { KlueError, type ErrorBody, type KlueErrorOptions } from './core/errors/klue-error.js';
export { ERROR_CATALOG, ERROR_CODES, type ErrorCode } from './core/errors/catalog.js';
export { addErrorReporter, type ErrorReporter, type ErrorReport } from './core/errors/reporter.js';

export type { HandlerInput, Handler } from './service/handler.js';
export type { ServiceSetup } from './service/load-service.js';
