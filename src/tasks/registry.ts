import { KlueError } from '../core/errors/klue-error.js';
import type { TaskOptions } from './types.js';
import { processSingleton } from '../util/process-singleton.js';

/** A registered task: its stable name, the function and its options. */
export interface TaskDefinition {
  name: string;
  fn: (...args: never[]) => unknown;
  options: Readonly<TaskOptions>;
  /** Absolute path of the module that called `asynctask`, when the stack names one. */
  module?: string;
}

// Shared across copies of klue in one process (see docs/design.md), so a worker built from
// dist finds tasks defined by service code that imported klue from source, and vice versa.
const tasks = processSingleton('klue.tasks', () => new Map<string, TaskDefinition>());

export function registerTask(def: TaskDefinition): void {
  const existing = tasks.get(def.name);
  if (existing && existing.fn !== def.fn) {
    throw new KlueError(
      'DUPLICATE_TASK',
      `Two async tasks are named '${def.name}': function ${existing.fn.name || '(anonymous)'} and function ${def.fn.name || '(anonymous)'}; give one of them another name with asynctask({ name: '...' }, fn)`,
      { details: { task: def.name } },
    );
  }
  tasks.set(def.name, def);
}

export function getTask(name: string): TaskDefinition | undefined {
  return tasks.get(name);
}

export function taskNames(): string[] {
  return [...tasks.keys()].sort();
}

export function registeredTasks(): TaskDefinition[] {
  return [...tasks.values()];
}
