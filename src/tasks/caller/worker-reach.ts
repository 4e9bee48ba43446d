import { fileURLToPath } from 'node:url';
import { glob } from 'tinyglobby';
import { rootLogger } from '../../core/log/logger.js';
import { processSingleton } from '../../util/process-singleton.js';
import type { TaskDefinition } from '../registry.js';
import type { AsyncRuntime } from '../transport/runtime.js';

/** A stack frame's file: `at fn (file:///a/b.ts:3:14)` or `at /a/b.js:3:14`. */
const FRAME_FILE = /^\s*at (?:.*? \()?((?:file:\/\/)?\/[^():]+?):\d+:\d+\)?$/;

/**
 * The module that called `caller` (asynctask): the file of the first stack frame above it, as
 * an absolute path; undefined when the stack does not name one.
 */
export function callingModule(caller: (...args: never[]) => unknown): string | undefined {
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 1;
  try {
    Error.captureStackTrace(holder, caller);
  } finally {
    Error.stackTraceLimit = limit;
  }
  const frame = holder.stack?.split('\n').find((line) => line.trimStart().startsWith('at '));
  const file = frame === undefined ? undefined : FRAME_FILE.exec(frame)?.[1];
  if (file === undefined) return undefined;
  return file.startsWith('file://') ? fileURLToPath(file) : file;
}

// Once per task name and process, and the files of async.modules once per runtime.
const checked = processSingleton('klue.tasks.worker-reach', () => ({ names: new Set<string>(), files: new WeakMap<AsyncRuntime, Promise<Set<string>>>() }));

function asyncModuleFiles(runtime: AsyncRuntime): Promise<Set<string>> {
  let files = checked.files.get(runtime);
  if (!files) {
    const { dir, async } = runtime.config;
    files = async.modules.length === 0 ? Promise.resolve(new Set()) : glob(async.modules, { cwd: dir, absolute: true }).then((list) => new Set(list));
    checked.files.set(runtime, files);
  }
  return files;
}

/**
 * The first time this process queues a task, warns when workers will not know it: it was
 * registered after start-up (by a module the service imports lazily, which workers never import)
 * and its module is not one of `async.modules`. Workers would put its jobs back for
 * `async.unknown_task_grace`, then fail them with UNKNOWN_TASK.
 */
export function checkWorkersLoad(def: TaskDefinition, runtime: AsyncRuntime): void {
  if (checked.names.has(def.name)) return;
  checked.names.add(def.name);
  const module = def.module;
  if (runtime.tasksAtStart.has(def.name) || module === undefined) return;
  const { file, async } = runtime.config;
  asyncModuleFiles(runtime).then(
    (files) => {
      if (files.has(module)) return;
      rootLogger().warn(
        { task: def.name, module, async_modules: async.modules },
        `async: task ${def.name} is defined in ${module}, which was imported after start-up and is not in async.modules: workers will not know it and will fail its jobs with UNKNOWN_TASK; list it under async.modules in ${file}`,
      );
    },
    () => undefined,
  );
}
