import { describe, expect, it } from 'vitest';
import { KlueError } from '../core/errors/klue-error.js';
import { errorFromReason, failureReason } from './failure-reason.js';

describe('failure reasons', () => {
  it('put a KlueError code in front of its message, and leave other errors as they are', () => {
    expect(failureReason(new KlueError('TASK_TIMEOUT', 'report: still running after 50 ms (timeout)'))).toBe(
      'TASK_TIMEOUT: report: still running after 50 ms (timeout)',
    );
    expect(failureReason(new Error('boom'))).toBe('boom');
    expect(failureReason('plain')).toBe('plain');
  });

  it('give result() the code back, naming the task and job', () => {
    const err = errorFromReason('report', '7', failureReason(new KlueError('TASK_TIMEOUT', 'still running after 50 ms')), undefined);
    expect(err.code).toBe('TASK_TIMEOUT');
    expect(err.message).toBe('report (job 7) failed: still running after 50 ms');
  });

  it('make anything else TASK_FAILED, a capitalised word that is no klue code included', () => {
    expect(errorFromReason('report', '7', 'boom', undefined)).toMatchObject({ code: 'TASK_FAILED', message: 'report (job 7) failed: boom' });
    expect(errorFromReason('report', '7', 'HTTP_500: upstream said no', undefined)).toMatchObject({
      code: 'TASK_FAILED',
      message: 'report (job 7) failed: HTTP_500: upstream said no',
    });
  });
});
