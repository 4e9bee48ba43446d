import { readFileSync } from 'node:fs';
import { median } from './common.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a profile's self time went, by package (or file) and by function, in µs. */
export interface SelfTimes {
  byPackage: Map<string, number>;
  byFunction: Map<string, number>;
  /** All sampled time but V8's idle time (the process waiting on its sockets). */
  busyUs: number;
  totalUs: number;
}

const IDLE = '((idle))';

/** The package a frame's code comes from (`bullmq`, `node:buffer`, `dist/tasks/envelope/envelope.js`), or `(native function)`. */
function packageOf(node: ProfileNode): string {
  const u = node.callFrame.url;
  if (!u) return `(${node.callFrame.functionName || 'native'})`;
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u);
  if (m) return m[1] as string;
  if (u.startsWith('node:')) return u;
  return u.replace(/^.*\/(dist|src|bench)\//, '$1/');
}

function add(map: Map<string, number>, key: string, us: number): void {
  map.set(key, (map.get(key) ?? 0) + us);
}

/** Self time of a .cpuprofile file, grouped. */
export function selfTimes(file: string): SelfTimes {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const out: SelfTimes = { byPackage: new Map(), byFunction: new Map(), busyUs: 0, totalUs: 0 };
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const us = profile.timeDeltas[i] ?? 0;
    if (!node) return;
    const pkg = packageOf(node);
    add(out.byPackage, pkg, us);
    add(out.byFunction, `${node.callFrame.functionName || '(anon)'} ${pkg}:${node.callFrame.lineNumber + 1}`, us);
    out.totalUs += us;
    if (pkg !== IDLE) out.busyUs += us;
  });
  return out;
}

/** The `limit` largest entries of `map`, as shares of `total`. */
export function topShares(map: Map<string, number>, total: number, limit: number): [string, string][] {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([k, t]) => [`${((t / total) * 100).toFixed(1)}%`, k]);
}

/**
 * Per unit of work (µs per task), `a` beside `b` and what `b` costs more, the `limit` entries
 * that differ most first. Medians over the runs of each side, so one run's noise does not lead.
 */
export function perUnitDiff(a: Map<string, number>[], b: Map<string, number>[], units: number, limit: number): { key: string; a: number; b: number; diff: number }[] {
  const keys = new Set([...a, ...b].flatMap((m) => [...m.keys()]));
  const mid = (runs: Map<string, number>[], k: string) => median(runs.map((m) => (m.get(k) ?? 0) / units));
  return [...keys]
    .map((key) => {
      const x = mid(a, key);
      const y = mid(b, key);
      return { key, a: x, b: y, diff: y - x };
    })
    .sort((p, q) => Math.abs(q.diff) - Math.abs(p.diff))
    .slice(0, limit);
}
