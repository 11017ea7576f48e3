// pino, one JSON line per event on standard output. Under systemd
// (JOURNAL_STREAM set) each line gets its syslog priority prefix, so that
// journald files warnings and errors at their level, and pid/hostname/time
// are left out because the journal records them itself.
import pino, { type Logger } from 'pino';
import type { LogLevel } from './config.js';

const PRIORITY: Record<number, number> = { 10: 7, 20: 7, 30: 6, 40: 4, 50: 3, 60: 2 };

export function createLogger(level: LogLevel, env: NodeJS.ProcessEnv = process.env): Logger {
  const journald = Boolean(env.JOURNAL_STREAM);
  return pino({
    level,
    base: journald ? undefined : { pid: process.pid },
    timestamp: journald ? false : pino.stdTimeFunctions.isoTime,
    hooks: journald
      ? {
          streamWrite: (s: string) => {
            const m = /"level":(\d+)/.exec(s);
            return `<${PRIORITY[Number(m?.[1])] ?? 6}>${s}`;
          },
        }
      : {},
  });
}
