import { readFileSync } from 'node:fs';

/**
 * Polls `check` until it gives something other than undefined or false, and returns that;
 * fails after `timeoutMs` naming `what`.
 */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits until the file at `path` exists and holds exactly `expected`. */
export async function waitForFile(path: string, expected: string, timeoutMs = 15_000): Promise<void> {
  await waitFor(() => {
    try {
      return readFileSync(path, 'utf8') === expected;
    } catch {
      return false;
    }
  }, timeoutMs, `${path} to hold ${expected}`);
}
