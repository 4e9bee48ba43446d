/**
 * Runs `stop` once on the first SIGTERM, SIGINT or SIGHUP (the terminal closed); a second signal
 * exits at once, so an operator can always get out of a shutdown that hangs.
 */
export function onShutdownSignal(stop: () => Promise<unknown>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`klue: second ${signal}, exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    stop().catch((err: unknown) => {
      process.stderr.write(`klue: shutdown failed: ${String(err)}\n`);
      process.exit(1);
    });
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  process.on('SIGHUP', handler);
}
