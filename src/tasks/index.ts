/** `klue/async`: what service code needs to define and call background tasks. */
export { asynctask } from './caller/asynctask.js';
export { PermanentError } from './permanent-error.js';
export type { AsyncTask, CallOptions, TaskHandle, TaskOptions } from './types.js';
