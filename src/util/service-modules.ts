import { processSingleton } from './process-singleton.js';

// The service's own modules this process imported by path (handlers, setup, async.modules), in
// order; process-wide, so that a worker's log can say which modules define its tasks.
const imported = processSingleton('klue.service.modules', () => new Set<string>());

export function noteServiceModule(file: string): void {
  imported.add(file);
}

export function serviceModules(): string[] {
  return [...imported];
}
