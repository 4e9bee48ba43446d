import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig } from '../../src/core/config/load-config.js';
import { serve, type RunningServer } from '../../src/http/serve.js';

export interface TestServer extends RunningServer {
  /** Every JSON log line the server wrote. */
  logs: Record<string, unknown>[];
}

/** Serves a service folder in this process on a free port, capturing its logs. */
export async function startInProcess(dir: string, overrides?: Record<string, unknown>): Promise<TestServer> {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const config = await loadConfig({ dir, overrides });
  const server = await serve(config, { port: 0, host: '127.0.0.1', logger, docs: true });
  return Object.assign(server, { logs });
}

export async function getJson(url: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers };
}

export function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  return getJson(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}
