import type { Log } from './app/shared/log';

export type { Log };

const LEVELS = ['debug', 'info', 'warn', 'error'];

/** JSON lines on stdout, dropping entries below `minLevel`. */
export function jsonLogger(minLevel = 'info'): Log {
  const min = LEVELS.indexOf(minLevel);
  return (entry) => {
    if (LEVELS.indexOf(entry.level ?? 'info') >= min) console.log(JSON.stringify(entry));
  };
}
