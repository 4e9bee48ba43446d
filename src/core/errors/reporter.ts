import type { KlueContext } from '../context/context.js';
import { rootLogger } from '../log/logger.js';
import type { KlueError } from './klue-error.js';
import { processSingleton } from '../../util/process-singleton.js';

/** What a reporter is told besides the error itself. */
export interface ErrorReport {
  /** `http` for endpoint errors, `task` for tasks that failed for good. */
  source: 'http' | 'task';
  context: KlueContext;
  /** For tasks: name, job id and the attempt that failed last. */
  task?: { name: string; jobId: string; attempt: number; attempts: number };
}

/** Receives every error of status >= 500 and every task that failed for good. */
export type ErrorReporter = (error: KlueError, report: ErrorReport) => void | Promise<void>;

const reporters = processSingleton('klue.error.reporters', (): ErrorReporter[] => []);

export function addErrorReporter(reporter: ErrorReporter): () => void {
  reporters.push(reporter);
  return () => {
    const i = reporters.indexOf(reporter);
    if (i >= 0) reporters.splice(i, 1);
  };
}

/**
 * Calls every reporter with the context less the bearer token (a reporter ships what it is given
 * to a third party; the token would work there for its whole lifetime). A reporter that throws
 * is logged, never allowed to break the caller.
 */
export async function reportError(error: KlueError, report: ErrorReport): Promise<void> {
  if (reporters.length === 0) return;
  if (report.context.token !== undefined) {
    const { token: _token, ...context } = report.context;
    report = { ...report, context };
  }
  for (const reporter of reporters) {
    try {
      await reporter(error, report);
    } catch (err) {
      rootLogger().error({ err, error_id: error.errorId }, 'error reporter failed');
    }
  }
}
