/**
 * The client, for `bench/run.ts --only=client`: a call through `ApiPool.<api>.client` against a
 * bare undici request (a Pool of the same size, `body.json()`) to the same server, in the same
 * process and run, the two interleaved round by round. The server is a plain node:http server in
 * a child process answering a small JSON item, so that its CPU is not the bench's. The client
 * call runs inside a request's context (user token, request id), as it would in a handler; both
 * sides keep `concurrency` calls in flight.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { closeClientPools } from '../src/client/pool.js';
import { loadConfig } from '../src/core/config/load-config.js';
import { runInContext } from '../src/core/context/context.js';
import { createRootLogger } from '../src/core/log/logger.js';
import { loadService } from '../src/service/load-service.js';
import { ApiPool } from '../src/spec/api-pool.js';
import { freePort } from '../test/helpers/redis.js';
import { median, quartiles } from './lib/common.js';

const SPEC = `swagger: '2.0'
info: { title: items, version: '1' }
paths:
  /items/{id}:
    get:
      operationId: getItem
      parameters: [{ in: path, name: id, required: true, type: string }]
      responses:
        '200': { description: an item, schema: { $ref: '#/definitions/Item' } }
definitions:
  Item:
    type: object
    required: [id, tags]
    properties: { id: { type: string }, tags: { type: array, items: { type: string } }, qty: { type: integer } }
`;

const SERVER = `
const body = JSON.stringify({ id: 'i-1', tags: ['a', 'b'], qty: 3 });
require('node:http').createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
}).keepAliveTimeout = 60000;
`;

export interface ClientBenchResult {
  concurrency: number;
  roundSeconds: number;
  rounds: number;
  /** Calls per second, median of the rounds. */
  clientRps: number;
  bareRps: number;
  /** Median of the per-round ratios client/bare (and their middle half). */
  ratio: number;
  middle: [number, number];
  /** µs of wall time per call at this concurrency, from the medians. */
  clientUsPerCall: number;
  bareUsPerCall: number;
}

async function startServer(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', `${SERVER.replace('}).keepAliveTimeout', '}).listen(' + port + ', "127.0.0.1", () => console.log("listening")).keepAliveTimeout')}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
  return child;
}

/** Runs `call` with `concurrency` in flight for `seconds`; gives calls per second. */
async function drive(call: () => Promise<unknown>, concurrency: number, seconds: number): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let done = 0;
  const lane = async () => {
    while (performance.now() < end) {
      await call();
      done++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, lane));
  return done / ((performance.now() - started) / 1000);
}

export async function measureClient(options: { rounds: number; seconds: number; concurrency: number }): Promise<ClientBenchResult> {
  createRootLogger({}, { level: 'silent' });
  const port = await freePort();
  const server = await startServer(port);
  const dir = mkdtempSync(join(tmpdir(), 'klue-bench-client-'));
  const bare = new Pool(`http://127.0.0.1:${port}`, { connections: 16 });
  try {
    mkdirSync(join(dir, 'apis'));
    writeFileSync(join(dir, 'apis', 'items.yaml'), SPEC);
    writeFileSync(join(dir, 'klue-config.yaml'), `name: bench-client\nclients:\n  items:\n    url: http://127.0.0.1:${port}\n    connections: 16\n`);
    await loadService(await loadConfig({ dir }), { http: false });
    const getItem = ApiPool.items!.client.getItem!;
    const store = { ctx: { user: { sub: 'ann' }, token: 'a-bearer-token-of-some-length.abc.def', request: { id: 'bench-req-1', method: 'GET', url: '/x' } }, log: createRootLogger({}, { level: 'silent' }) };
    const viaClient = () => runInContext(store, () => getItem({ path: { id: 'i-1' } }));
    const viaUndici = async () => {
      const res = await bare.request({ path: '/items/i-1', method: 'GET', headers: { accept: 'application/json', authorization: `Bearer ${store.ctx.token}`, 'x-request-id': 'bench-req-1' } });
      return res.body.json();
    };
    // warm-up: connections opened, validators compiled, JIT
    await drive(viaClient, options.concurrency, 1);
    await drive(viaUndici, options.concurrency, 1);
    const rounds: { client: number; bare: number }[] = [];
    for (let i = 0; i < options.rounds; i++) {
      // the order alternates, so neither side always runs on a machine the other has warmed
      const first = i % 2 === 0;
      const a = await drive(first ? viaClient : viaUndici, options.concurrency, options.seconds);
      const b = await drive(first ? viaUndici : viaClient, options.concurrency, options.seconds);
      rounds.push(first ? { client: a, bare: b } : { client: b, bare: a });
    }
    const ratios = rounds.map((r) => r.client / r.bare);
    const clientRps = median(rounds.map((r) => r.client));
    const bareRps = median(rounds.map((r) => r.bare));
    return {
      concurrency: options.concurrency,
      roundSeconds: options.seconds,
      rounds: options.rounds,
      clientRps: Math.round(clientRps),
      bareRps: Math.round(bareRps),
      ratio: Math.round(median(ratios) * 100) / 100,
      middle: quartiles(ratios).map((q) => Math.round(q * 100) / 100) as [number, number],
      clientUsPerCall: Math.round((1e6 * options.concurrency) / clientRps),
      bareUsPerCall: Math.round((1e6 * options.concurrency) / bareRps),
    };
  } finally {
    await bare.close();
    await closeClientPools();
    server.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}
