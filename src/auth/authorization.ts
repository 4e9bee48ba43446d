import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { KlueError } from '../core/errors/klue-error.js';

/** Whether two secrets are equal, in a time that tells nothing of either (not even its length). */
export function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** The token of an `Authorization: Bearer <token>` value (the scheme in any case), or undefined. */
export function bearerToken(header: string): string | undefined {
  return BEARER.exec(header)?.[1];
}

/** What the Authorization header is read from: Node's request (Fastify's `request.raw`). */
export interface RequestHeaders {
  headers: IncomingHttpHeaders;
  /** Every header line as sent, name then value: it keeps the copies `headers` drops. */
  rawHeaders: string[];
}

/**
 * The request's Authorization header. Node keeps only the first of several in `headers`, while a
 * proxy in front may have checked another one: a request with more than one is refused (400).
 */
export function authorizationHeader(req: RequestHeaders): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const raw = req.rawHeaders;
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name?.length === 13 && name.toLowerCase() === 'authorization') count++;
  }
  if (count > 1) throw new KlueError('INVALID_PARAMETER', `The request has ${count} Authorization headers: send exactly one`);
  return header;
}

/**
 * Why a request does not carry `secret` as `Authorization: Bearer <secret>` (compared in constant
 * time), or undefined when it does. `what` names the secret in the description.
 */
export function bearerSecretProblem(req: RequestHeaders, secret: string, what: string): KlueError | undefined {
  let header: string | undefined;
  try {
    header = authorizationHeader(req);
  } catch (err) {
    return err as KlueError;
  }
  if (!header) return new KlueError('AUTHORIZATION_HEADER_MISSING', `This endpoint requires Authorization: Bearer <${what}>`);
  const given = bearerToken(header);
  return given !== undefined && sameSecret(given, secret) ? undefined : new KlueError('TOKEN_INVALID', `The bearer token is not the ${what}`);
}
