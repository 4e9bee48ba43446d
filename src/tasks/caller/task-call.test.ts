import { describe, expect, it } from 'vitest';
import { testConfig } from '../../../test/helpers/config.js';
import { jobOptions } from './task-call.js';
import type { TaskDefinition } from '../registry.js';

const def = (options: TaskDefinition['options']): TaskDefinition => ({ name: 'mail', fn: () => undefined, options });

describe('job options', () => {
  it('takes defaults from the config and parses durations', async () => {
    const config = await testConfig({ attempts: 4, backoff: 250, delay: '2s', keep_completed: 7, keep_failed: 9 });
    expect(jobOptions(def({}), {}, config)).toEqual({
      attempts: 4,
      backoff: { type: 'exponential', delay: 250, jitter: 0.5 },
      delay: 2000,
      removeOnComplete: { count: 7 },
      removeOnFail: { count: 9 },
    });
  });

  it('lets task options and then call options win', async () => {
    const config = await testConfig();
    const opts = jobOptions(def({ attempts: 5, backoff: 100, delay: '1m', priority: 3 }), { delay: '10s', priority: 1, attempts: 2, jobId: 'order-42' }, config);
    expect(opts).toMatchObject({ attempts: 2, backoff: { delay: 100 }, delay: 10_000, priority: 1, jobId: 'order-42' });
    expect(jobOptions(def({ delay: '5m' }), {}, config).delay).toBe(300_000);
    expect(jobOptions(def({}), { delay: 0 }, config).delay).toBeUndefined();
  });

  it('refuses job ids and options BullMQ would reject for the whole batch', async () => {
    const config = await testConfig();
    expect(() => jobOptions(def({}), { jobId: '42' }, config)).toThrow(/jobId "42" must be/);
    expect(() => jobOptions(def({}), { jobId: 'a:b' }, config)).toThrow(/has no ':'/);
    expect(() => jobOptions(def({}), { priority: 2 ** 21 }, config)).toThrow(/priority must be/);
    expect(() => jobOptions(def({}), { delay: '3 weeks' }, config)).toThrow(/mail: delay: '3 weeks' is not a duration/);
  });
});
