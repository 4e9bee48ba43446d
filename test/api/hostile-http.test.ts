import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config/load-config.js';
import { ERROR_CATALOG } from '../../src/core/errors/catalog.js';
import { startInProcess, type TestServer } from '../helpers/in-process.js';
import { copyService, helloworldDir, type ServiceDir } from '../helpers/service-dir.js';

// What a hostile or broken client sends, byte by byte: every answer is klue's error body, and a
// client that stalls is cut after the configured (here small) timeouts.
let svc: ServiceDir;
let server: TestServer;
const HTTP = { headers_timeout: 300, request_timeout: 600, keep_alive_timeout: 300 };

beforeAll(async () => {
  process.env.PYM_JWT_SECRET = 'hostile-http-test-secret';
  svc = copyService(helloworldDir);
  server = await startInProcess(svc.dir, { http: HTTP, async: { mode: 'inline', queue: `hostile-${randomUUID()}` } });
});

afterAll(async () => {
  await server?.close();
  svc?.cleanup();
});

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  /** Ms from the first byte sent to the connection's close. */
  ms: number;
}

/** Writes `parts` on a new connection (each when the previous is flushed) and reads until the server closes it. */
function raw(...parts: string[]): Promise<RawAnswer> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // The server may reset a connection it refused while bytes are still on their way: what came before counts.
    socket.on('error', (err) => (chunks.length ? undefined : reject(err)));
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', body = ''] = text.split(/\r\n\r\n(.*)/s);
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      try {
        resolve({ status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(body) as Record<string, unknown>, ms: Date.now() - started });
      } catch (err) {
        reject(new Error(`not a JSON answer: ${JSON.stringify(text)}`, { cause: err }));
      }
    });
    for (const part of parts) socket.write(part);
  });
}

/** The answer is the documented error body with a catalog code of that status. */
function expectErrorShape(answer: RawAnswer, code: keyof typeof ERROR_CATALOG): void {
  expect(answer.status).toBe(ERROR_CATALOG[code].status);
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  expect(Object.keys(answer.body).sort()).toEqual(['error', 'error_description', 'error_id', 'status', 'user_message']);
  expect(answer.body).toMatchObject({
    status: ERROR_CATALOG[code].status,
    error: code,
    error_description: expect.any(String),
    error_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
    user_message: expect.any(String),
  });
}

describe("Fastify's and Node's own refusals answer in klue's error shape", () => {
  it('a URL with bad percent-encoding is a 400 BAD_REQUEST', async () => {
    const answer = await raw('GET /hello%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expectErrorShape(answer, 'BAD_REQUEST');
    expect(answer.body.error_description).toMatch(/hello%zz/);
  });

  it('headers, or a URL, larger than the limit are a 431 HEADERS_TOO_LARGE, and the connection is closed', async () => {
    const header = await raw(`GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expectErrorShape(header, 'HEADERS_TOO_LARGE');
    expect(header.headers.connection).toBe('close');
    expectErrorShape(await raw(`GET /hello?q=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`), 'HEADERS_TOO_LARGE');
  });

  it.each([
    ['both Content-Length and Transfer-Encoding', 'POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['a bad chunk size', 'POST /hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n{}\r\n0\r\n\r\n'],
    ['no Host header', 'GET /hello HTTP/1.1\r\n\r\n'],
    ['a request line that is not HTTP', 'GET\r\n\r\n'],
  ])('a malformed request (%s) is a 400 BAD_REQUEST, and the connection is closed', async (_what, request) => {
    const answer = await raw(request);
    expectErrorShape(answer, 'BAD_REQUEST');
    expect(answer.headers.connection).toBe('close');
  });

  it.each([
    ['unknown to Node', 'FOO'],
    ['known to Node, not to the server', 'PROPFIND'],
  ])('a method %s is a 501 METHOD_NOT_IMPLEMENTED', async (_what, method) => {
    const answer = await raw(`${method} /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expectErrorShape(answer, 'METHOD_NOT_IMPLEMENTED');
    expect(answer.headers.connection).toBe('close');
  });
});

describe('slow clients cannot hold a connection', () => {
  it('a client that stalls in its headers is answered 408 REQUEST_TIMEOUT and cut', async () => {
    const answer = await raw('GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    expectErrorShape(answer, 'REQUEST_TIMEOUT');
    expect(answer.headers.connection).toBe('close');
    expect(answer.ms).toBeGreaterThanOrEqual(HTTP.headers_timeout - 50);
  }, 10_000);

  it('a client that stalls in its body is answered 408 REQUEST_TIMEOUT and cut', async () => {
    const answer = await raw('POST /hello/with/inheritance HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"qu');
    expectErrorShape(answer, 'REQUEST_TIMEOUT');
    expect(answer.ms).toBeGreaterThanOrEqual(HTTP.request_timeout - 50);
  }, 10_000);

  it('an idle keep-alive connection is closed after http.keep_alive_timeout', async () => {
    const { hostname, port } = new URL(server.url);
    const socket = connect(Number(port), hostname);
    const answered = new Promise<number>((resolve) => socket.once('data', () => resolve(Date.now())));
    const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())));
    socket.write('GET /ping HTTP/1.1\r\nHost: x\r\n\r\n');
    const idle = (await closed) - (await answered);
    expect(idle).toBeGreaterThanOrEqual(HTTP.keep_alive_timeout - 50);
    expect(idle).toBeLessThan(5_000);
  }, 10_000);

  it('has production defaults, and refuses headers allowed longer than the whole request', async () => {
    expect((await loadConfig({ dir: svc.dir })).http).toEqual({ request_timeout: 60_000, headers_timeout: 20_000, keep_alive_timeout: 72_000 });
    await expect(loadConfig({ dir: svc.dir, overrides: { http: { headers_timeout: 5000, request_timeout: 1000 } } })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/http\.headers_timeout/),
    });
  });
});
