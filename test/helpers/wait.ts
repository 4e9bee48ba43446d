import { readFileSync } from 'node:fs';

/** Polls `check` until it returns true, or fails after `timeoutMs` with `what`. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
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
