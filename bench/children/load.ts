// The load generator, in its own process: autocannon, 50 connections, one JSON body.
import autocannon from 'autocannon';
import { childArgs, ORDER, toParent } from '../lib/common.js';

interface LoadArgs {
  url: string;
  seconds: number;
  connections: number;
  /** Requests per second in all (open loop); default: as fast as the server answers. */
  rate?: number;
}

const args = childArgs<LoadArgs>();
const result = await autocannon({
  url: args.url,
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(ORDER),
  connections: args.connections,
  duration: args.seconds,
  ...(args.rate ? { overallRate: args.rate } : {}),
});
toParent({
  type: 'result',
  ok: result['2xx'],
  rps: result['2xx'] / args.seconds,
  non2xx: result.non2xx,
  errors: result.errors,
  timeouts: result.timeouts,
  p50: result.latency.p50,
  p99: result.latency.p99,
});
process.exit(0);
