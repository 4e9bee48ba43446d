import { afterEach, describe, expect, it } from 'vitest';
import { testConfig } from '../../../test/helpers/config.js';
import { KlueError } from '../../core/errors/klue-error.js';
import { encodeValue } from '../envelope/codec.js';
import { startAsync, stopAsync } from '../transport/runtime.js';
import { asynctask } from './asynctask.js';
import { jobOptions } from './task-call.js';
import { getTask } from '../registry.js';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

afterEach(async () => {
  await stopAsync();
});

describe('errors of bad task values and options', () => {
  it('are coded errors of the catalog that stay TypeErrors, with their detail', async () => {
    const value = thrown(() => encodeValue([new Map()], 'sendEmail', 'args'));
    expect(value).toBeInstanceOf(TypeError);
    expect(value).toBeInstanceOf(KlueError);
    expect(value).toMatchObject({ code: 'TASK_VALUE_INVALID', status: 500, message: expect.stringMatching(/^sendEmail: args\[0\] is a Map/) });
    expect((value as KlueError).toBody()).toMatchObject({ error: 'TASK_VALUE_INVALID', error_description: 'A task call argument or task result is not a value a task envelope carries' });

    const anonymous = thrown(() => asynctask((() => async () => 1)()));
    expect(anonymous).toBeInstanceOf(TypeError);
    expect(anonymous).toMatchObject({ code: 'TASK_OPTIONS_INVALID', message: expect.stringMatching(/has no name/) });

    expect(thrown(() => asynctask({ queue: 'a b' }, async function badQueue() {}))).toMatchObject({ code: 'TASK_OPTIONS_INVALID', message: expect.stringMatching(/^badQueue: queue 'a b'/) });
    expect(thrown(() => asynctask({ delay: 'soon' }, async function badDelay() {}))).toMatchObject({ code: 'TASK_OPTIONS_INVALID', message: expect.stringMatching(/^badDelay: delay: 'soon' is not a duration/) });

    asynctask(async function goodTask() {});
    const def = getTask('goodTask');
    const config = await testConfig();
    expect(thrown(() => jobOptions(def!, { jobId: '12' }, config))).toMatchObject({ code: 'TASK_OPTIONS_INVALID', message: expect.stringMatching(/^goodTask: jobId "12"/) });
    expect(thrown(() => jobOptions(def!, { attempts: 0 }, config))).toMatchObject({ code: 'TASK_OPTIONS_INVALID', message: 'goodTask: attempts must be an integer >= 1, not 0' });
  });

  it('starting async twice with two configs is ASYNC_ALREADY_STARTED, naming the config in use', async () => {
    const first = await testConfig({ mode: 'inline' });
    await startAsync(first, 'server');
    await expect(startAsync(await testConfig({ mode: 'inline' }), 'server')).rejects.toMatchObject({
      code: 'ASYNC_ALREADY_STARTED',
      message: expect.stringContaining(first.file),
    });
  });
});
