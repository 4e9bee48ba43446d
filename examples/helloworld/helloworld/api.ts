import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { deepStrictEqual, ok, strictEqual } from 'node:assert';
import { ApiPool, config, log, modelNameOf, type HandlerInput, type Model } from 'klue';
import { asynctask } from 'klue/async';
import type { Code as CodeData } from '../types/helloworld.js';
import type { Question } from './models.js';

type Code = Model<CodeData>;
const helloworld = () => ApiPool.helloworld.model;

export function do_hello() {
  return helloworld().Hello({ message: 'hello world!' });
}

export function do_hello_with_inheritance({ body }: HandlerInput<Question>) {
  return helloworld().Hello({ message: `You said: ${body.getQuestion()}` });
}

export function do_crash(): never {
  throw new Error('Endpoint /die crashed on purpose, to show how klue handles errors');
}

/**
 * The original's task, with its checks: positional arguments of every JSON kind, a model,
 * and a model nested in a "keyword" object (which the Python original lost).
 */
export const writeCodeToFile = asynctask(async function writeCodeToFile(
  a: number,
  b: string,
  c: Record<string, string>,
  d: number[],
  o: Code,
  kwargs: { dict_arg: Code },
) {
  strictEqual(a, 1);
  strictEqual(b, '2');
  deepStrictEqual(c, { '3': '4' });
  deepStrictEqual(d, [5, 6, 7]);
  strictEqual(modelNameOf(o), 'helloworld.Code');
  strictEqual(modelNameOf(kwargs.dict_arg), 'helloworld.Code');
  strictEqual(kwargs.dict_arg.code, o.code);
  const path = config().get<string>('uuid_file_path');
  ok(path, 'uuid_file_path is not set in the config');
  await writeFile(path, o.code);
  log().info({ path, code: o.code }, 'wrote code');
});

export async function do_async() {
  const code = randomUUID();
  const model = helloworld().Code({ code });
  await writeCodeToFile(1, '2', { '3': '4' }, [5, 6, 7], model, { dict_arg: model });
  return helloworld().Hello({ message: `Writing code ${code} to ${config().get<string>('uuid_file_path')}` });
}

export const failingTask = asynctask({ attempts: 1 }, async function failingTask(reason: string) {
  throw new Error(`Task failed on purpose: ${reason}`);
});

export async function do_async_die() {
  await failingTask('asyncdie was called');
  return helloworld().Hello({ message: 'Started a task that will fail' });
}
