/**
 * Failures the volume and the journal report, counted for status and logged once per streak
 * (never per request), and classified: what a failed image call says about the device under it.
 */
import { errnoNameOf, messageOf, type ErrnoName } from '../util/errno.js';
import type { Logger } from '../util/logger.js';

/** Errors that mean the device under the image is gone, not that one request failed. */
const DEVICE_GONE: ReadonlySet<ErrnoName> = new Set(['ENXIO', 'ENODEV', 'ENOTCONN', 'ESTALE', 'ENOMEDIUM', 'ESHUTDOWN', 'ECONNABORTED']);

/** What an image failure means for the mount. */
export type ImageVerdict = 'device-gone' | 'probe' | 'request';

export class FailureLog {
  /** Writes refused because the journal could not record them. */
  journalFailures = 0;
  imageFailures = 0;
  /** What happened to the mount, one line each, for status. */
  readonly events: string[] = [];
  private commitsAtLastJournalLog = -1;

  constructor(private readonly log: Logger) {}

  note(event: string): void {
    this.events.push(event);
    this.log.info(event);
  }

  /**
   * A write was refused because the journal could not record it. Logged once per streak of
   * failures (a streak ends when a commit succeeds: `commits` moves); counted always.
   */
  journalFailed(e: unknown, commits: number): void {
    this.journalFailures++;
    if (commits === this.commitsAtLastJournalLog) return;
    this.commitsAtLastJournalLog = commits;
    this.log.error({ err: e, code: errnoNameOf(e) }, `journal cannot record writes: ${messageOf(e)}; affected writes fail with EIO`);
  }

  /** An image call failed: logged the first time, and classified. */
  imageFailed(e: unknown, op: string): ImageVerdict {
    const code = errnoNameOf(e);
    if (this.imageFailures++ === 0) this.log.error({ err: e, op, code }, `image ${op} failed: ${messageOf(e)}`);
    if (DEVICE_GONE.has(code)) return 'device-gone';
    return code === 'EIO' ? 'probe' : 'request';
  }
}
