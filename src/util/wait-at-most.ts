/**
 * Waits for `work` to settle, but no longer than `ms`: for shutdown steps that talk to a Redis
 * which may be down. The timer never keeps the process alive.
 */
export async function waitAtMost(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  try {
    await Promise.race([work.then(() => undefined, () => undefined), expired]);
  } finally {
    clearTimeout(timer);
  }
}
