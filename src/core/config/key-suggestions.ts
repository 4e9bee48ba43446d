/**
 * "Did you mean …?" for config keys. A config file holds keys of its own app beside klue's
 * (the original's deploy keys: `docker_repo`, `aws_user`...), so an unknown key is not an error;
 * but one a letter or two away from a klue key is almost surely a typo of it, and a typo of
 * `with_async` silently runs tasks inside requests.
 */

/** `tokenTimeout` → `token_timeout`; snake_case keys are unchanged. */
export function snakeCase(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/**
 * Edits (insert, delete, substitute, or swap two neighbours) that turn `a` into `b`: the optimal
 * string alignment distance, so `with_asycn` is one edit from `with_async`.
 */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const up = rows[i - 1] as number[];
      let best = Math.min((up[j] as number) + 1, (row[j - 1] as number) + 1, (up[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      }
      row.push(best);
    }
    rows.push(row);
  }
  return (rows[a.length] as number[])[b.length] as number;
}

/**
 * The known key an unknown one is most likely a typo of: its camelCase spelling, a different
 * case, or at most one edit per four letters of the known key (two at most). Undefined when no
 * known key is that close, which leaves the app's own keys alone.
 */
export function closeKey(key: string, known: readonly string[]): string | undefined {
  const wanted = snakeCase(key);
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(wanted, candidate);
    const allowed = Math.min(2, Math.floor(candidate.length / 4));
    if (distance <= allowed && (!best || distance < best.distance)) best = { key: candidate, distance };
  }
  return best?.key;
}
