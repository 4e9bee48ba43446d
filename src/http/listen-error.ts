import { KlueError } from '../core/errors/klue-error.js';

/**
 * The error of a `listen` that failed: a port that is taken (or that needs privileges) becomes a
 * one-line PORT_IN_USE naming the port and what it was for, instead of Node's stack; any other
 * error is returned as it is.
 */
export function listenError(err: Error, port: number, host: string, what: string): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    return new KlueError('PORT_IN_USE', `port ${port} (${host}), ${what}, is already in use by another process: stop it or choose another port`, {
      cause: err,
      details: { port, host },
    });
  }
  if (code === 'EACCES') {
    return new KlueError('PORT_IN_USE', `port ${port} (${host}), ${what}, may not be opened by this process (ports below 1024 need privileges): choose another port`, {
      cause: err,
      details: { port, host },
    });
  }
  return err;
}
