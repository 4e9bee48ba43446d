/**
 * The signals on which `klue start` and `klue worker` stop gracefully: a process manager's
 * SIGTERM, a terminal's Ctrl-C (SIGINT) and a closed terminal's hang-up (SIGHUP), which reach
 * the whole foreground process group.
 */
export const SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

/**
 * Runs `stop` once on the first of SHUTDOWN_SIGNALS; a second signal exits at once, so an
 * operator can always get out of a shutdown that hangs.
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
  for (const signal of SHUTDOWN_SIGNALS) process.on(signal, handler);
}
