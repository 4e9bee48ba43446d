// The public API of klue. Async tasks are exported from 'klue/async'.
export { loadConfig, type LoadConfigOptions } from './config/load-config.js';
export { config } from './config/current-config.js';
export type { KlueConfig, AsyncConfig, JwtConfig, DashboardConfig } from './config/config-types.js';

export { ApiPool, type ApiEntry, type ApiPools } from './api/api-pool.js';
export { modelNameOf, isModel, type Model, type ModelFactory } from './api/models.js';

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
} from './context/context.js';
export type { ContextPropagation } from './context/propagation.js';
export { log } from './log/logger.js';

export { KlueError, type ErrorBody, type KlueErrorOptions } from './errors/klue-error.js';
export { ERROR_CATALOG, ERROR_CODES, type ErrorCode } from './errors/catalog.js';
export { addErrorReporter, type ErrorReporter, type ErrorReport } from './errors/reporter.js';

export { generateToken, type GenerateTokenOptions } from './auth/jwt.js';

export type { HandlerInput, Handler } from './service/handler.js';
export { loadService, type Service, type ServiceSetup } from './service/load-service.js';
export { createApp, type CreateAppOptions } from './server/create-app.js';
