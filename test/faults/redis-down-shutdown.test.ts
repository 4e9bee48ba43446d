import { afterAll, expect, it } from 'vitest';
import { faultService, secondsSince, type FaultService } from '../helpers/fault-service.js';

const SHUTDOWN_TIMEOUT = 3000;
let f: FaultService | undefined;
afterAll(async () => f?.cleanup());

it('stopping klue start and klue worker while Redis is down never hangs past the shutdown timeout', async () => {
  f = await faultService({ shutdown_timeout: SHUTDOWN_TIMEOUT });
  const { klue } = await f.start([], 1);
  const standalone = await f.worker();
  await f.redis.stop();
  // Long enough for every connection to notice and start retrying.
  await new Promise((r) => setTimeout(r, 2000));
  let t0 = Date.now();
  const serverCode = await klue.stop('SIGTERM');
  const serverSeconds = secondsSince(t0);
  t0 = Date.now();
  const workerCode = await standalone.stop('SIGTERM');
  const workerSeconds = secondsSince(t0);
  console.log(`[faults] redis-down-shutdown: shutdown_timeout=${SHUTDOWN_TIMEOUT / 1000}s klue-start-exit=${serverCode} in ${serverSeconds}s klue-worker-exit=${workerCode} in ${workerSeconds}s`);
  expect(serverCode).toBe(0);
  expect(workerCode).toBe(0);
  // The shutdown timeout plus the bounded last steps (releasing tasks, closing connections).
  expect(Number(serverSeconds)).toBeLessThan(SHUTDOWN_TIMEOUT / 1000 + 6);
  expect(Number(workerSeconds)).toBeLessThan(SHUTDOWN_TIMEOUT / 1000 + 6);
});
