function cell(v: unknown): string {
  let text: string;
  if (v === undefined || v === null) text = '';
  else if (typeof v === 'string') text = v;
  else if (typeof v === 'number' || typeof v === 'boolean') text = String(v);
  else text = JSON.stringify(v);
  return text.replace(/\s+/g, ' ').slice(0, 80);
}

/** Prints rows as an aligned text table with the given columns. */
export function printTable(rows: Record<string, unknown>[], columns: string[]): void {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  const out = [line(columns), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))];
  process.stdout.write(`${out.join('\n')}\n`);
}
