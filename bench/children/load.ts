// The load generator, in its own process: autocannon, 50 connections, one JSON body.
// Given a url, it measures once and exits; given none, it stays and measures on each 'run'
// message, so that the slices of a round follow each other without a process start between.
import autocannon from 'autocannon';
import { childArgs, ORDER, toParent, type Message } from '../lib/common.js';

export interface LoadArgs {
  url: string;
  seconds: number;
  connections: number;
  /** Requests per second in all (open loop); default: as fast as the server answers. */
  rate?: number;
}

async function measure(args: LoadArgs): Promise<Message> {
  const result = await autocannon({
    url: args.url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(ORDER),
    connections: args.connections,
    duration: args.seconds,
    ...(args.rate ? { overallRate: args.rate } : {}),
  });
  return {
    type: 'result',
    ok: result['2xx'],
    rps: result['2xx'] / args.seconds,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    p50: result.latency.p50,
    p99: result.latency.p99,
  };
}

const args = childArgs<Partial<LoadArgs>>();
if (args.url) {
  toParent(await measure(args as LoadArgs));
  process.exit(0);
}
process.on('message', (m: LoadArgs) => void measure(m).then(toParent));
toParent({ type: 'ready' });
