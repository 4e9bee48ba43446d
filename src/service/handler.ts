import type { RequestInfo } from '../core/context/context.js';

/** What a handler receives: the validated request, split as the spec declares it. */
export interface HandlerInput<
  Body = unknown,
  Path extends Record<string, unknown> = Record<string, unknown>,
  Query extends Record<string, unknown> = Record<string, unknown>,
  Headers extends Record<string, unknown> = Record<string, unknown>,
> {
  /** The body; a klue model when the spec's body schema is a definition `$ref`. */
  body: Body;
  path: Path;
  query: Query;
  headers: Headers;
  request: RequestInfo;
}

/** An operation handler: returns the response body (a model or plain data), or throws a KlueError. */
export type Handler = (input: HandlerInput) => unknown;
