/** What the fixture's tasks record in a worker process (see bench/fixture/handlers/bench.ts). */
export interface BenchState {
  done: number;
  latenciesUs: number[];
}

// klue's, as built in dist/ (see klue.ts); only this module, as the fixture's handlers load this file.
const { processSingleton } = (await import(new URL('../../dist/util/process-singleton.js', import.meta.url).href)) as typeof import('../../src/util/process-singleton.js');

let state: BenchState | undefined;

/** One per process, whichever copy of this module the fixture's handlers and the bench's children load. */
export function benchState(): BenchState {
  return (state ??= processSingleton('klue.bench.state', (): BenchState => ({ done: 0, latenciesUs: [] })));
}

/** Wall-clock time in ms with sub-ms precision, comparable across processes on one machine. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
