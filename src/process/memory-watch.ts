/**
 * Exit code of a worker that left because it passed `async.max_memory_mb` after finishing its
 * tasks (EX_TEMPFAIL): the supervisor replaces it at once and does not count it as a failure.
 */
export const RECYCLE_EXIT_CODE = 75;

export interface MemoryWatchOptions {
  /** The cap in MB (1 MB = 2^20 bytes). */
  maxMb: number;
  /** Called once, with the RSS in MB, the first time a check finds it above the cap. */
  onBreach: (rssMb: number) => void;
  /** Ms between checks. Default 1000. */
  intervalMs?: number;
  /** Reads the resident set size in bytes. Default `process.memoryUsage.rss`. */
  rss?: () => number;
}

/**
 * Checks the process' RSS periodically and reports the first breach of the cap. RSS rather than
 * heap: leaks in Buffers and native modules are what usually grows a worker, and RSS is what
 * the kernel's OOM killer and container limits look at. Returns a function that stops watching.
 */
export function watchMemory(options: MemoryWatchOptions): () => void {
  const rss = options.rss ?? (() => process.memoryUsage.rss());
  const limit = options.maxMb * 1024 * 1024;
  const timer = setInterval(() => {
    const bytes = rss();
    if (bytes <= limit) return;
    clearInterval(timer);
    options.onBreach(Math.round(bytes / (1024 * 1024)));
  }, options.intervalMs ?? 1000);
  // Watching must never be what keeps a worker alive.
  timer.unref();
  return () => clearInterval(timer);
}
