// `klue/server`: what builds or starts a service (config loading, the HTTP app, workers) and
// issues tokens. Handler code imports 'klue', which loads none of this.
export { loadConfig, type LoadConfigOptions } from './core/config/load-config.js';
export { loadService, type Service, type ServiceSetup, type LoadServiceOptions } from './service/load-service.js';
export { createApp, type CreateAppOptions } from './http/create-app.js';
export { serve, type ServeOptions, type RunningServer } from './http/serve.js';
export { startWorker, type WorkerOptions, type KlueWorker } from './tasks/run/worker.js';
export { runWorker, type RunWorkerOptions } from './process/worker-main.js';
export { generateToken, type GenerateTokenOptions } from './auth/jwt.js';
