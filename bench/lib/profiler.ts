import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { toParent, type Message } from './common.js';

/**
 * Lets the parent profile this process over IPC: `{ type: 'profile-start' }`, then
 * `{ type: 'profile-stop', file }` writes a .cpuprofile (as `--cpu-prof` would, but only
 * for the window under load) and answers `{ type: 'profiled', file }`.
 */
export function answerProfileRequests(): void {
  let profiler: Profiler | undefined;
  process.on('message', (m: Message) => {
    void (async () => {
      if (m.type === 'profile-start') {
        profiler = await startProfiler();
        toParent({ type: 'profiling' });
      } else if (m.type === 'profile-stop' && profiler) {
        await profiler.stop(String(m.file));
        profiler = undefined;
        toParent({ type: 'profiled', file: m.file });
      }
    })();
  });
}

export interface Profiler {
  /** Writes the .cpuprofile and ends the session. */
  stop(file: string): Promise<void>;
}

/** Starts V8's sampling profiler (100 µs interval) in this process. */
export async function startProfiler(): Promise<Profiler> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  return {
    async stop(file) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}
