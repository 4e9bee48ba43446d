import { createRootLogger } from '../../src/core/log/logger.js';

export interface CapturedLine {
  level: number;
  obj: Record<string, unknown>;
  msg: string;
}

/**
 * Makes the process' root logger keep its lines (info and above) in the array returned instead
 * of printing them; `silenceLogs()` puts a silent one back.
 */
export function captureLogs(): CapturedLine[] {
  const lines: CapturedLine[] = [];
  createRootLogger(
    {},
    {
      level: 'info',
      hooks: {
        logMethod(args, _method, level) {
          const [first, second] = args as unknown[];
          lines.push(typeof first === 'string' ? { level, obj: {}, msg: first } : { level, obj: first as Record<string, unknown>, msg: String(second) });
        },
      },
    },
  );
  return lines;
}

export function silenceLogs(): void {
  createRootLogger({}, { level: 'silent' });
}
