/**
 * Bounded waits on calls that may never return (a stalled or vanished device): a plain time limit,
 * a limit on lack of progress of a block device, and a runner of guarded steps that records what
 * failed and goes on, so one failing step (an image fsync) never skips the next (the journal
 * commit).
 */
import { readFile } from 'node:fs/promises';
import { ErrnoError, messageOf } from '../util/errno.js';
import { withTimeout } from '../util/timeout.js';

export { withTimeout };
import type { Logger } from '../util/logger.js';

/** Sectors written so far by block device `majorMinor`, or null where that cannot be read. */
async function sectorsWritten(majorMinor: string): Promise<number | null> {
  try {
    const fields = (await readFile(`/sys/dev/block/${majorMinor}/stat`, 'utf8')).trim().split(/\s+/);
    const n = Number(fields[6]);
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

/**
 * Waits for `p` while the device under it makes progress: fails with ETIMEDOUT after `stallMs`
 * without a sector written, or after `capMs` in all. A device whose progress cannot be read (a
 * FUSE or network file system) gets `stallMs` in all.
 */
export function whileProgressing<T>(
  p: Promise<T>,
  device: string,
  what: string,
  limits: { stallMs: number; capMs: number },
  onProgress: () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const started = Date.now();
    let lastChange = started;
    let last: number | null = null;
    let polling = false;
    const timer = setInterval(() => {
      if (polling) return;
      polling = true;
      void sectorsWritten(device).then((n) => {
        polling = false;
        const now = Date.now();
        if (n !== null && last !== null && n !== last) {
          lastChange = now;
          onProgress();
        }
        last = n;
        if (now - lastChange > limits.stallMs || now - started > limits.capMs) {
          clearInterval(timer);
          reject(new ErrnoError('ETIMEDOUT', `${what} made no progress for ${now - lastChange} ms (${now - started} ms in all)`));
        }
      });
    }, 250);
    p.then(
      (v) => {
        clearInterval(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearInterval(timer);
        reject(e);
      },
    );
  });
}

/**
 * Runs steps one after another, each bounded and guarded: a failure is logged once, kept in
 * `errors`, and does not stop the next step. `timedOut` counts steps whose call may still be
 * running (it never returned).
 */
export class BoundedSteps {
  readonly errors: string[] = [];
  timedOut = 0;

  constructor(private readonly log: Logger, private readonly context: string) {}

  /** Runs `fn` within `limitMs` (or within `limit`, a custom bound). Returns whether it succeeded. */
  async run(what: string, fn: () => Promise<unknown>, limit: number | ((p: Promise<unknown>) => Promise<unknown>)): Promise<boolean> {
    try {
      const p = fn();
      await (typeof limit === 'number' ? withTimeout(p, limit, what) : limit(p));
      return true;
    } catch (e) {
      if ((e as { code?: string }).code === 'ETIMEDOUT') this.timedOut++;
      this.errors.push(`${what}: ${messageOf(e)}`);
      this.log.error({ err: e }, `${this.context}: ${what} failed`);
      return false;
    }
  }
}
