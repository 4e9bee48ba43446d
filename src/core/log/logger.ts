import { pino, type Logger, type LoggerOptions } from 'pino';
import { contextStorage } from '../context/context.js';
import { processSingleton } from '../../util/process-singleton.js';

export type { Logger };

const root = processSingleton('klue.root.logger', (): { logger?: Logger } => ({}));

/** Creates the process' root logger: JSON lines on stdout, level from `LOG_LEVEL` (default info). */
export function createRootLogger(bindings: Record<string, unknown> = {}, options: LoggerOptions = {}): Logger {
  const logger = pino({
    level: process.env.LOG_LEVEL ?? 'info',
    base: { pid: process.pid, ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...options,
  });
  root.logger = logger;
  return logger;
}

export function rootLogger(): Logger {
  return root.logger ?? createRootLogger();
}

/**
 * The logger of the current request or task: every line it writes carries the request id,
 * the user id and (in a worker) the task name, job id and attempt.
 */
export function log(): Logger {
  return contextStorage.getStore()?.log ?? rootLogger();
}
