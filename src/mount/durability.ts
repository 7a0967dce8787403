/**
 * The daemon's keeper of durability losses (ordered mode; see journal/durability-record.ts for the
 * record and journal.ts for when a loss is reported).
 *
 * When the journal's write or sync fails, the journal hands this keeper the pages it may have lost
 * and waits: the record is written and synced (file and directory) in the state directory before
 * any writer, fsync, close or status hears of the failure. If it cannot be, the journal distrusts
 * itself. Once the pages are durable in the journal again (a later sync that rewrote them, or an
 * activation after recovery merged them) the record is removed.
 *
 * The state directory is prepared at start in ordered mode, so a problem with it is logged and
 * shown by `status` before it matters.
 */
import type { DurabilityGuard, DurabilityLoss } from '../journal/journal.js';
import { MAX_RECORD_PAGES, recordClusterCount, removeRecord, writeRecord, type DurabilityRecord } from '../journal/durability-record.js';
import { ensurePrivateDir } from '../util/private-dir.js';
import { stateDir } from '../util/state-dir.js';
import { majorMinor } from '../volume/image.js';
import type { Logger } from '../util/logger.js';

/** What `status` shows of the last durability loss of this mount. */
export interface DurabilityLossView {
  at: string;
  /** Why, in words: what failed. */
  error: string;
  /** Clusters whose bits the record keeps (0: nothing acknowledged was at risk). */
  clusters: number;
  /** The record, or null when it could not be written (recordError says why). */
  record: string | null;
  recordError?: string;
  /** When the record became unnecessary (its bits durable in the journal again). */
  restoredAt?: string;
}

export class DurabilityKeeper implements DurabilityGuard {
  readonly dir = stateDir();
  /** Why records cannot be kept, as found at start; null: none found. */
  private dirProblem: string | null = null;
  private journalFile = { path: '', device: '', inode: '' };
  private last: DurabilityLossView | null = null;

  constructor(private readonly journalPath: string, private readonly log: Logger, private readonly note: (event: string) => void) {}

  /** At start, in ordered mode: creates the state directory (0700) or says once why it cannot. */
  prepare(): void {
    try {
      ensurePrivateDir(this.dir);
      this.dirProblem = null;
    } catch (e) {
      this.dirProblem = (e as Error).message;
      this.log.warn({ dir: this.dir }, `durability records cannot be kept: ${this.dirProblem}; if the journal's disk fails, the journal will be untrusted`);
    }
  }

  /** The journal file the records of this mount name (device and inode as opened). */
  attach(file: { dev: bigint; ino: bigint }): void {
    this.journalFile = { path: this.journalPath, device: majorMinor(file.dev), inode: String(file.ino) };
  }

  async lost(loss: DurabilityLoss): Promise<void> {
    const complete = loss.pages.length <= MAX_RECORD_PAGES;
    const record: DurabilityRecord = {
      generation: loss.generation,
      journal: this.journalFile,
      lostAt: loss.at,
      reason: loss.error.message,
      errorCode: loss.error.code,
      epoch: loss.epoch,
      imageSize: loss.imageSize,
      clusterSize: loss.clusterSize,
      complete,
      pagesAtRisk: loss.pages.length,
      pages: complete ? loss.pages : [],
    };
    const at = new Date(loss.at).toISOString();
    const clusters = recordClusterCount(record);
    try {
      const path = await writeRecord(this.dir, record);
      this.last = { at, error: loss.error.message, clusters, record: path };
      this.log.error({ record: path, clusters, pages: loss.pages.length, complete, code: loss.error.code },
        `the journal's disk failed (${loss.error.message}) before changes were synced; ${complete ? `the ${clusters} cluster(s) not yet synced are kept in ${path}` : `${loss.pages.length} journal pages were waiting, too many to keep: the journal will be untrusted after a crash`}`);
      this.note(`the journal's disk failed at ${at} before changes were synced (${loss.error.message}); ${complete ? `${clusters} cluster(s) kept in ${path}` : 'too many changes were waiting to keep them'}`);
    } catch (e) {
      const why = (e as Error).message;
      this.last = { at, error: loss.error.message, clusters, record: null, recordError: why };
      this.log.error({ err: e, dir: this.dir }, `the journal's disk failed (${loss.error.message}) before changes were synced, and the record of them cannot be written: ${why}; the journal is untrusted`);
      this.note(`the journal's disk failed at ${at} before changes were synced (${loss.error.message}); the record of them could not be written (${why}): the journal is untrusted`);
      throw e;
    }
  }

  async restored(generation: string): Promise<void> {
    let removed: boolean;
    try {
      removed = await removeRecord(this.dir, generation);
    } catch (e) {
      this.log.warn({ err: e }, `durability record of generation ${generation} cannot be removed yet: ${(e as Error).message}; every commit syncs until it is`);
      throw e;
    }
    if (this.last && !this.last.restoredAt) {
      this.last.restoredAt = new Date().toISOString();
      this.log.info({ record: this.last.record }, 'the changes the journal could not sync are durable in it again; durability record removed');
      this.note(`the changes not synced when the journal's disk failed are durable in the journal again (${this.last.restoredAt}); record removed`);
    } else if (removed) {
      this.note('durability record of this journal removed: its changes are durable in the journal');
    }
  }

  /**
   * After an activation: everything the journal holds is durable (a record's bits merged at
   * recovery included), so no record of its generation is needed any more.
   */
  async activated(generation: string): Promise<void> {
    try {
      if (await removeRecord(this.dir, generation)) this.note(`durability record of this journal removed: its changes are durable in the journal`);
    } catch (e) {
      this.log.warn({ err: e }, `durability record of generation ${generation} cannot be removed: ${(e as Error).message}`);
    }
  }

  /** For `status`: the last loss (null: none), and why records cannot be kept (if so). */
  status(): { durabilityLoss: DurabilityLossView | null; durabilityRecords?: string } {
    const out: { durabilityLoss: DurabilityLossView | null; durabilityRecords?: string } = { durabilityLoss: this.last };
    if (this.dirProblem) out.durabilityRecords = `cannot be kept: ${this.dirProblem}`;
    return out;
  }
}
