/**
 * pino, set up once per process: JSON to a log file or stderr, pretty only when stderr is a
 * terminal. Per-request events are logged at trace level only.
 */
import { pino, destination, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level: string;
  /** Append JSON lines to this descriptor (opened by util/log-file.ts, or inherited); otherwise stderr. */
  fd?: number | undefined;
  name?: string;
}

let flushDestination: (() => void) | null = null;

export function createLogger(opts: LoggerOptions): Logger {
  const base = { level: opts.level, name: opts.name ?? 'trackfs' };
  if (opts.fd === undefined && process.stderr.isTTY) {
    flushDestination = null;
    return pino({ ...base, transport: { target: 'pino-pretty', options: { destination: 2, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' } } });
  }
  const dest: DestinationStream & { flushSync?: () => void } = destination({ dest: opts.fd ?? 2, sync: false });
  flushDestination = () => {
    try { dest.flushSync?.(); } catch { /* a log that cannot be flushed must not stop an exit */ }
  };
  return pino(base, dest);
}

/** Pushes buffered log lines out before the process exits. */
export function flushLogs(): void {
  flushDestination?.();
}
