const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

// util imports nothing of klue, so these are plain TypeErrors: each caller that a user reaches
// (config, task options, CLI) wraps them into its coded error, keeping the message.
/** Parses a duration given as milliseconds or as a string like '250ms', '10s', '5m', '2h', '1d'. */
export function parseDuration(value: number | string, what = 'duration'): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new TypeError(`${what}: ${value} is not a positive number of ms`);
    return Math.round(value);
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(value);
  if (!match) throw new TypeError(`${what}: '${value}' is not a duration (use ms, or '10s', '5m', '2h', '1d')`);
  return Math.round(Number(match[1]) * (UNITS[match[2] ?? 'ms'] ?? 1));
}
