/** What the fixture's tasks record in a worker process (see bench/fixture/handlers/bench.ts). */
export interface BenchState {
  done: number;
  latenciesUs: number[];
}

const KEY = Symbol.for('klue.bench.state');
const holder = globalThis as unknown as Record<symbol, BenchState | undefined>;

export function benchState(): BenchState {
  return (holder[KEY] ??= { done: 0, latenciesUs: [] });
}

/** Wall-clock time in ms with sub-ms precision, comparable across processes on one machine. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
