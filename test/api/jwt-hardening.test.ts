import { randomUUID } from 'node:crypto';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { decodeJwt, SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateToken, JwtVerifier } from '../../src/auth/jwt.js';
import { loadConfig } from '../../src/core/config/load-config.js';
import { getJson, startInProcess, type TestServer } from '../helpers/in-process.js';
import { copyService, helloworldDir, type ServiceDir } from '../helpers/service-dir.js';
import { waitFor } from '../helpers/wait.js';

// Tokens must expire and name a user, one Authorization header per
// request, and the dashboard's sign-in neither logs its token nor sets a weak cookie.
const SECRET = 'jwt-hardening-test-secret';
// helloworld's jwt_audience and jwt_issuer
const AUDIENCE = 'helloworldaudienceisgreat';
const ISSUER = 'api.helloworld.com';
let svc: ServiceDir;
let server: TestServer;
let port: number;

beforeAll(async () => {
  process.env.PYM_JWT_SECRET = SECRET;
  svc = copyService(helloworldDir, {
    async: { redis_url: inject('redisUrl'), queue: `jwt-${randomUUID()}`, secret: 'jwt-hardening-signing-secret-0123', dashboard: {} },
  });
  server = await startInProcess(svc.dir);
  port = Number(new URL(server.url).port);
});

afterAll(async () => {
  await server?.close();
  svc?.cleanup();
});

/** A token signed with the service's key, audience and issuer, carrying only `claims` otherwise. */
function craft(claims: JWTPayload, options: { exp?: boolean } = {}): Promise<string> {
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setAudience(AUDIENCE).setIssuer(ISSUER).setIssuedAt();
  if (options.exp ?? true) jwt = jwt.setExpirationTime('1h');
  return jwt.sign(new TextEncoder().encode(SECRET));
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

interface RawAnswer {
  status: number;
  head: string;
  body: string;
}

/** Sends one HTTP/1.1 request with exactly these header lines on `socket` and reads the answer until the server closes. */
function raw(socket: Socket, path: string, headers: string[]): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = Buffer.concat(chunks).toString('utf8').split(/\r\n\r\n(.*)/s);
      resolve({ status: Number(head.split(' ')[1]), head, body });
    });
    socket.write([`GET ${path} HTTP/1.1`, 'Host: localhost', 'Connection: close', ...headers, '', ''].join('\r\n'));
  });
}

const tcp = () => connectTcp(port, '127.0.0.1');

describe('token claims', () => {
  it('refuses a token without exp, naming the missing claim', async () => {
    const token = await craft({ sub: 'ann' }, { exp: false });
    for (const path of ['/hello/with/auth', '/auth/version']) {
      const res = await getJson(`${server.url}${path}`, { headers: bearer(token) });
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('TOKEN_INVALID');
      expect(res.body.error_description).toMatch(/"exp"/);
    }
  });

  it('refuses a token without sub, or whose sub is not a string', async () => {
    for (const claims of [{}, { sub: 42 } as unknown as JWTPayload, { sub: '' }]) {
      const res = await getJson(`${server.url}/hello/with/auth`, { headers: bearer(await craft(claims)) });
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('TOKEN_INVALID');
      expect(res.body.error_description).toMatch(/"sub"/);
    }
    // the same claims with a sub pass
    expect((await getJson(`${server.url}/hello/with/auth`, { headers: bearer(await craft({ sub: 'ann' })) })).status).toBe(200);
  });

  it('requires both by default, and jwt_require_exp / jwt_require_sub: false lift them', async () => {
    const bare = await craft({}, { exp: false });
    const strict = await loadConfig({ dir: svc.dir });
    expect(strict.jwt).toMatchObject({ require_exp: true, require_sub: true });
    await expect(new JwtVerifier(strict.jwt).verify(bare)).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
    const lenient = await loadConfig({ dir: svc.dir, overrides: { jwt_require_exp: false, jwt_require_sub: false } });
    expect(await new JwtVerifier(lenient.jwt).verify(bare)).toMatchObject({ aud: AUDIENCE, iss: ISSUER });
    const noExpOnly = await loadConfig({ dir: svc.dir, overrides: { jwt_require_exp: false } });
    await expect(new JwtVerifier(noExpOnly.jwt).verify(bare)).rejects.toThrow(/"sub"/);
  });

  it('generateToken (and so klue token) issues tokens with exp and sub, which the service accepts', async () => {
    const token = await generateToken({ userId: 'bob', expiresIn: '5m' });
    expect(decodeJwt(token)).toMatchObject({ sub: 'bob', exp: expect.any(Number) });
    const res = await getJson(`${server.url}/hello/with/auth`, { headers: bearer(token) });
    expect(res.status).toBe(200);
  });
});

describe('two Authorization headers', () => {
  it('are refused with 400 (Node would have read only the first), wherever a token is read', async () => {
    const good = await generateToken({ userId: 'ann' });
    const admin = await generateToken({ userId: 'root', data: { admin: true } });
    const cases: [string, string][] = [
      ['/hello/with/auth', good],
      ['/auth/version', good],
      ['/admin/queues/api/queues', admin],
    ];
    for (const [path, token] of cases) {
      const one = await raw(tcp(), path, [`Authorization: Bearer ${token}`]);
      expect(one.status, path).toBe(200);
      const two = await raw(tcp(), path, [`Authorization: Bearer ${token}`, 'authorization: Bearer somebody-elses']);
      expect(two.status, path).toBe(400);
      expect(JSON.parse(two.body)).toMatchObject({ error: 'INVALID_PARAMETER', error_description: expect.stringMatching(/2 Authorization headers/) });
    }
  });
});

describe('the dashboard', () => {
  it('accepts the Bearer scheme in any case, as the API does', async () => {
    const admin = await generateToken({ userId: 'root', data: { admin: true } });
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      expect((await fetch(`${server.url}/admin/queues/api/queues`, { headers: { authorization: `${scheme} ${admin}` } })).status, scheme).toBe(200);
      expect((await fetch(`${server.url}/hello/with/auth`, { headers: { authorization: `${scheme} ${admin}` } })).status, scheme).toBe(200);
    }
  });

  it('never writes the sign-in token to the logs', async () => {
    const admin = await generateToken({ userId: 'log-admin', data: { admin: true } });
    const res = await fetch(`${server.url}/admin/queues/login?token=${admin}`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const line = await waitFor(
      () => server.logs.find((l) => l.msg === 'request completed' && String(l.url).startsWith('/admin/queues/login')),
      5000,
      'the login request line',
    );
    expect(line.url).toBe('/admin/queues/login?token=[REDACTED]');
    expect(JSON.stringify(server.logs)).not.toContain(admin);
  });

  it('sets an HttpOnly, SameSite cookie, Secure when served over TLS', async () => {
    const admin = await generateToken({ userId: 'cookie-admin', data: { admin: true } });
    const cookieOf = (answer: RawAnswer) => /^set-cookie: (.*)$/im.exec(answer.head)?.[1] ?? '';

    const plain = await raw(tcp(), `/admin/queues/login?token=${admin}`, []);
    expect(plain.status).toBe(302);
    expect(cookieOf(plain)).toMatch(/; HttpOnly(;|$)/);
    expect(cookieOf(plain)).toMatch(/; SameSite=(Strict|Lax)(;|$)/);
    expect(cookieOf(plain)).not.toMatch(/Secure/);

    // The same app behind TLS (a pre-shared key: no certificate to make), as an https server serves it.
    const psk = Buffer.from('jwt-hardening-tls-pre-shared-key');
    const tls = { ciphers: 'PSK-AES128-GCM-SHA256', maxVersion: 'TLSv1.2' } as const;
    const front: TlsServer = createTlsServer({ ...tls, pskCallback: () => psk }, (socket) => server.app.server.emit('connection', socket));
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    try {
      const address = front.address();
      const tlsPort = typeof address === 'object' && address ? address.port : 0;
      const socket = connectTls({ ...tls, port: tlsPort, host: '127.0.0.1', pskCallback: () => ({ psk, identity: 'test' }), checkServerIdentity: () => undefined });
      const secure = await raw(socket, `/admin/queues/login?token=${admin}`, []);
      expect(secure.status).toBe(302);
      expect(cookieOf(secure)).toMatch(/; HttpOnly(;|$)/);
      expect(cookieOf(secure)).toMatch(/; SameSite=(Strict|Lax)(;|$)/);
      expect(cookieOf(secure)).toMatch(/; Secure(;|$)/);
    } finally {
      await new Promise((resolve) => front.close(resolve));
    }
  });
});
