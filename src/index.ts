// The public API of klue. Async tasks are exported from 'klue/async'.
export { loadConfig, type LoadConfigOptions } from './core/config/load-config.js';
export { config } from './core/config/current-config.js';
export type { KlueConfig, AsyncConfig, JwtConfig, DashboardConfig } from './core/config/config-types.js';

export { ApiPool, type ApiEntry, type ApiPools } from './spec/api-pool.js';
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

export { generateToken, type GenerateTokenOptions } from './auth/jwt.js';

export type { HandlerInput, Handler } from './service/handler.js';
export { loadService, type Service, type ServiceSetup } from './service/load-service.js';
export { createApp, type CreateAppOptions } from './http/create-app.js';
