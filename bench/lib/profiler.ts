import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { toParent, type Message } from './common.js';

/**
 * Lets the parent profile this process over IPC: `{ type: 'profile-start' }`, then
 * `{ type: 'profile-stop', file }` writes a .cpuprofile (as `--cpu-prof` would, but only
 * for the window under load) and answers `{ type: 'profiled', file }`.
 */
export function answerProfileRequests(): void {
  let session: Session | undefined;
  process.on('message', (m: Message) => {
    void (async () => {
      if (m.type === 'profile-start') {
        session = new Session();
        session.connect();
        await session.post('Profiler.enable');
        await session.post('Profiler.setSamplingInterval', { interval: 100 });
        await session.post('Profiler.start');
        toParent({ type: 'profiling' });
      } else if (m.type === 'profile-stop' && session) {
        const { profile } = await session.post('Profiler.stop');
        writeFileSync(String(m.file), JSON.stringify(profile));
        session.disconnect();
        session = undefined;
        toParent({ type: 'profiled', file: m.file });
      }
    })();
  });
}
