import type { FastifyReply, FastifyRequest } from 'fastify';
import { authorizationHeader, bearerToken, sameSecret } from '../auth/authorization.js';
import type { JwtVerifier } from '../auth/jwt.js';
import type { DashboardConfig, KlueConfig } from '../core/config/config-types.js';
import { KlueError } from '../core/errors/klue-error.js';
import { sendError } from './error-response.js';

export const DASHBOARD_COOKIE = 'klue_dashboard';

/** The dashboard's config when the app serves one: configured, and tasks go through Redis. */
export function servedDashboard(config: KlueConfig): DashboardConfig | undefined {
  return config.with_async && config.async.mode === 'queue' ? config.async.dashboard : undefined;
}

function cookie(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/**
 * The sign-in cookie: out of reach of scripts (HttpOnly), not sent with requests other sites start
 * (SameSite=Strict), and only over TLS when the dashboard is served over TLS (Secure; with Fastify's
 * `trustProxy`, also when the proxy in front says so with `X-Forwarded-Proto: https`).
 */
export function dashboardCookie(request: FastifyRequest, token: string, path: string, maxAge: number): string {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  return `${DASHBOARD_COOKIE}=${encodeURIComponent(token)}; Path=${path}; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure}`;
}

/** Whether verified claims carry the admin claim: `true`, or a list/string naming `admin`. */
export function hasAdminClaim(claims: Record<string, unknown>, claim: string): boolean {
  const v = claims[claim];
  return v === true || v === 'admin' || (Array.isArray(v) && v.includes('admin'));
}

/**
 * Who may open the dashboard: basic auth with the configured user and (env secret) password,
 * or a JWT — from the Authorization header or the cookie set by `<path>/login` — whose
 * `admin_claim` is set. Anything else is refused; the dashboard can retry tasks, so it is never open.
 */
export function dashboardGuard(config: DashboardConfig, jwt: JwtVerifier | undefined) {
  const claim = config.admin_claim ?? 'admin';
  const basic = config.basic_user && config.basic_password ? { user: config.basic_user, password: config.basic_password } : undefined;
  const check = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const header = authorizationHeader(request.raw) ?? '';
    // Auth schemes are case-insensitive (RFC 9110), as the API reads them.
    const basicCredentials = /^Basic\s+(\S+)\s*$/i.exec(header)?.[1];
    if (basic && basicCredentials !== undefined) {
      const [user, ...rest] = Buffer.from(basicCredentials, 'base64').toString().split(':');
      if (sameSecret(user ?? '', basic.user) && sameSecret(rest.join(':'), basic.password)) return;
      throw new KlueError('FORBIDDEN', 'Wrong dashboard user or password');
    }
    const token = bearerToken(header) ?? cookie(request, DASHBOARD_COOKIE);
    if (jwt && token) {
      const claims = await jwt.verify(token);
      if (hasAdminClaim(claims, claim)) return;
      throw new KlueError('FORBIDDEN', `The token has no '${claim}' claim`);
    }
    if (basic) void reply.header('www-authenticate', 'Basic realm="klue dashboard", charset="UTF-8"');
    throw new KlueError('AUTHORIZATION_HEADER_MISSING', 'The dashboard requires basic auth or an admin JWT');
  };
  // Answered here rather than thrown: bull-board's own error handler would turn it into a 500.
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    try {
      await check(request, reply);
      return undefined;
    } catch (err) {
      await sendError(err, request, reply);
      return reply;
    }
  };
}
