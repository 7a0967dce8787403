/**
 * The handles a mount holds on the image and the journal ("the backing"): opened at mount and at
 * resume, let go at eject, device loss and shutdown, while the FUSE mount stays.
 *
 * Ownership and order: every operation that attaches, releases or otherwise depends on the
 * backing staying put (a checkpoint) runs through `serialize`, one at a time, in the order asked.
 * So an unmount asked during a resume releases what the resume attached, after it attached it,
 * and reports what the journal file then says; an eject asked during a checkpoint waits for the
 * checkpoint's epoch to close. Requests (reads, writes) do not queue here: the lifecycle refuses
 * them before a release starts, and the release drains the ones in flight.
 *
 * Releasing: stop (the caller has already moved the lifecycle out of a serving state), drain
 * (bounded), sync the image, commit and close the journal (clean only if the image's final mtime
 * is known), close the image. Each step is bounded and guarded on its own: a failing image fsync
 * must not skip the journal commit; a backing call that never returns must not stop the daemon.
 */
import { stat } from 'node:fs/promises';
import type { Durability } from '../journal/format.js';
import { openJournalForMount, type OpenedJournal } from '../journal/open.js';
import type { Journal } from '../journal/journal.js';
import { ChangeTracker, UntrackedWrites, type WriteTracker } from '../tracker/tracker.js';
import { ImageFile, majorMinor, type ImageFacts } from '../volume/image.js';
import type { Volume } from '../volume/volume.js';
import type { ErrnoName } from '../util/errno.js';
import { ErrnoError, fuseErr, messageOf } from '../util/errno.js';
import { fsError } from '../util/fs-errors.js';
import type { Logger } from '../util/logger.js';
import { formatSizeShort } from '../util/size.js';
import { BoundedSteps, whileProgressing } from './bounded.js';
import { TIMEOUTS } from './timeouts.js';
import type { DurabilityKeeper } from './durability.js';

export interface BackingConfig {
  journal: string;
  durability: Durability;
  readOnly: boolean;
  markAhead: number;
  /** Benchmark-only: serve without tracking, to measure what tracking costs. */
  trackingOff: boolean;
}

/** What the backing reports upward (the daemon logs and counts it). */
export interface BackingEvents {
  /** Something status should list (journal created, recovered, ...). */
  note(event: string): void;
  /** The journal could not make bits durable (ordered mode's periodic sync). */
  journalFailed(e: unknown): void;
  /** A long release step is still making progress: push the shutdown watchdog back. */
  progress(): void;
}

/** The open handles; absent while ejected or removed. */
export interface Backing {
  facts: ImageFacts;
  image: ImageFile;
  opened: OpenedJournal;
}

/** What the backing was when it was last released: resume checks it gets the same back. */
export interface ReleaseRecord {
  identity: string;
  generation: string;
  clean: boolean;
}

/** What status shows of a journal; kept after release so status still describes it. */
export interface JournalView {
  header: ReturnType<Journal['headerSnapshot']>;
  changed: number;
  total: number;
}

function viewOf(j: Journal): JournalView {
  return { header: j.headerSnapshot(), changed: j.changedClusterCount(), total: j.clusterCount };
}

export class BackingOwner {
  #current: Backing | null = null;
  #lastRelease: ReleaseRecord | null = null;
  #lastView: JournalView | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  /** Release steps that timed out: their calls may never return, so exit must not wait for them. */
  #stuckCalls = 0;
  /**
   * The image of the last release while a native call stuck on it kept the module bound: kept
   * open (and locked) until the module lets go, so that the lock can then be given up at once.
   */
  #heldByStuckCall: ImageFile | null = null;

  constructor(
    private readonly config: BackingConfig,
    private readonly volume: Volume,
    /** Keeps what an ordered journal could not sync off the journal's disk (durability.ts). */
    readonly durability: DurabilityKeeper,
    private readonly log: Logger,
    private readonly events: BackingEvents,
  ) {}

  get current(): Backing | null { return this.#current; }
  get journal(): Journal | null { return this.#current?.opened.journal ?? null; }
  get lastRelease(): ReleaseRecord | null { return this.#lastRelease; }
  get stuckCalls(): number { return this.#stuckCalls; }

  /** The journal as it is, or as it was when it was last released. */
  journalView(): JournalView | null {
    const j = this.journal;
    return j ? viewOf(j) : this.#lastView;
  }

  /** A backing call (outside a release) was given up on: count it, for status and for exit. */
  noteStuckCalls(n: number): void {
    this.#stuckCalls += n;
  }

  /** Runs `task` once every backing operation asked before it has finished. */
  serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => {});
    return run;
  }

  /**
   * Opens the journal and the image, judges the journal, makes it active, and hands both to the
   * volume. Used at mount and at resume; run it through serialize(). On failure nothing stays open.
   */
  async attach(facts: ImageFacts, opts: { resetJournal: boolean; clusterSize: number | null }): Promise<void> {
    const c = this.config;
    // The image first: its lock keeps a second mount of it from touching (or creating) a journal.
    const image = await ImageFile.open(facts, c.readOnly);
    if (image.lockProblem) this.events.note(image.lockProblem);
    let opened: OpenedJournal;
    try {
      opened = await openJournalForMount({
        path: c.journal,
        image: facts,
        clusterSize: opts.clusterSize,
        resetJournal: opts.resetJournal,
        readOnly: c.readOnly,
      });
    } catch (e) {
      await image.close().catch(() => {});
      throw e;
    }
    try {
      const { journal, verdict } = opened;
      this.durability.attach(opened.file);
      journal.setDurabilityGuard(this.durability);
      for (const e of verdict.events) this.events.note(e);
      if (opened.created) this.events.note(`created journal ${c.journal} (cluster size ${formatSizeShort(journal.clusterSize)})`);
      if (verdict.newlyUntrusted) {
        this.log.warn({ reason: verdict.reason }, `journal is untrusted: ${verdict.reason}`);
        await journal.markUntrusted(verdict.reason).catch((e: unknown) => { throw fsError('cannot write journal', c.journal, e); });
      }
      if (!c.readOnly) {
        await journal
          .activate({
            durability: c.durability,
            bootId: opened.bootId,
            pid: process.pid,
            imagePath: facts.path,
            fsIdentity: opened.fsIdentity,
          })
          .catch((e: unknown) => {
            throw fsError('cannot write journal', c.journal, e);
          });
        await this.durability.activated(journal.generation);
        if (c.durability === 'ordered') journal.startAutoSync(TIMEOUTS.orderedSyncMs, (e) => this.events.journalFailed(e));
      }
      const tracker: WriteTracker = c.trackingOff
        ? new UntrackedWrites()
        : new ChangeTracker(journal, c.markAhead, this.volume.streamFollower);
      this.#current = { facts, image, opened };
      this.volume.attach({
        image,
        tracker,
        recorded: journal,
        clusterSize: journal.clusterSize,
        markAhead: c.trackingOff ? 0 : c.markAhead,
      });
    } catch (e) {
      await opened.journal.abandon();
      await image.close().catch(() => {});
      throw e;
    }
  }

  /** The block device (major:minor) of the file system holding the journal. */
  async journalDevice(): Promise<string> {
    return majorMinor((await stat(this.config.journal, { bigint: true })).dev);
  }

  /**
   * Lets go of the image and journal handles; run it through serialize(). Commits the journal and
   * closes it clean when the image could be synced and stat'ed; otherwise commits what it can and
   * leaves the header active (the next mount applies the crash rules). Says whether the journal
   * was closed clean, and what failed; with nothing attached, what the last release said.
   *
   * `refusal` is the errno requests still in flight get if the drain gives up on them.
   */
  async release(why: string, refusal: ErrnoName): Promise<{ clean: boolean; errors: string[] }> {
    const b = this.#current;
    if (!b) return { clean: this.#lastRelease?.clean ?? false, errors: [] };
    const steps = new BoundedSteps(this.log, 'release');
    if (!(await steps.run('drain in-flight I/O', () => this.volume.drain(TIMEOUTS.drainMs), TIMEOUTS.drainMs + 1_000))) {
      const n = this.volume.abortInFlight(fuseErr(refusal));
      this.log.warn({ answered: n }, `release: answered ${n} stuck request(s) without waiting for the backing store`);
    }
    const j = b.opened.journal;
    let clean = false;
    if (this.config.readOnly) {
      await steps.run('journal close', () => j.abandon(), TIMEOUTS.releaseStepMs);
      clean = true;
    } else {
      let mtimeNs: bigint | null = null;
      const bySyncProgress = (p: Promise<unknown>) =>
        whileProgressing(p, b.facts.hostDevice, 'image fdatasync', { stallMs: TIMEOUTS.syncStallMs, capMs: TIMEOUTS.syncCapMs }, () => this.events.progress());
      if (await steps.run('image fdatasync', () => b.image.datasync(), bySyncProgress)) {
        await steps.run('image stat', async () => { mtimeNs = await b.image.mtimeNs(); }, TIMEOUTS.releaseStepMs);
      }
      if (mtimeNs === null) {
        // Without the image's final mtime a clean close would hide later changes: leave it active.
        await steps.run('journal commit', () => j.close(null), TIMEOUTS.releaseStepMs);
      } else {
        const final = mtimeNs;
        clean = await steps.run('journal commit and close', () => j.close({ imageMtimeNs: final }), TIMEOUTS.releaseStepMs);
      }
      if (!j.isClosed) await j.abandon();
    }
    // The native path first: until it has let go, the image's descriptor number must stay ours.
    if (!this.volume.detach()) {
      this.#stuckCalls++;
      steps.errors.push('a native call is stuck on the image: the module keeps its own descriptor of it until the call returns');
      this.#heldByStuckCall = b.image;
    } else {
      // The module's duplicate descriptor closes on its own thread: let go of the lock now, so a
      // resume right after this finds the image free.
      b.image.releaseLock();
      await steps.run('image close', () => b.image.close(), TIMEOUTS.releaseStepMs);
    }
    this.#stuckCalls += steps.timedOut;
    this.#lastRelease = { identity: b.facts.identity, generation: j.generation, clean };
    this.#lastView = viewOf(j);
    this.#current = null;
    this.log.info({ why, journalClean: clean, errors: steps.errors }, `released image and journal handles (${why})`);
    return { clean, errors: steps.errors };
  }

  /**
   * Before a resume: lets go of the image that a native call stuck at the last release still held,
   * or refuses (EBUSY) while the call has not returned. Run it through serialize().
   */
  letGoOfStuckImage(): void {
    const held = this.#heldByStuckCall;
    if (!held) return;
    if (!this.volume.detach()) {
      throw new ErrnoError('EBUSY', `cannot resume: a native call on ${held.facts.path} has not returned since the release (the device does not answer), and this mount holds the image until it does; try again once the device answers, or unmount`);
    }
    this.#heldByStuckCall = null;
    held.releaseLock();
    // Not waited for: the resume needs the lock, not the close, and a close may flush to the device.
    held.close().catch((e: unknown) => this.log.warn({ err: e }, `closing the image a stuck native call held: ${messageOf(e)}`));
    this.log.info({ image: held.facts.path }, 'the native call stuck on the image returned: its handle is closed');
  }

  /**
   * Before the daemon forks on its way out (fusermount): the image a stuck native call still holds
   * must not be inherited (ImageFile.retire says why). Only on the way out: a resume needs that
   * descriptor's lock, which a retired descriptor no longer carries. Says what could not be done.
   */
  retireStuckImage(): string | null {
    const held = this.#heldByStuckCall;
    if (!held || held.retire()) return null;
    return `the descriptor of ${held.facts.path}, which a stuck call holds, could not be retired: a fork may wait for the device`;
  }

  /**
   * After a failed start (the FUSE mount refused, say): nothing was served, so the image is as the
   * activation found it. The journal is closed clean with the image's mtime, as a release does, so
   * that the failed start does not read later as a daemon that died (an ordered journal left active
   * across a reboot is untrusted). If that cannot be done it stays active, and the next mount
   * applies the crash rules to it.
   */
  async closeUnserved(): Promise<void> {
    const b = this.#current;
    if (!b) return;
    this.#current = null;
    const detached = this.volume.detach();
    const j = b.opened.journal;
    if (!this.config.readOnly) {
      try {
        const imageMtimeNs = await b.image.mtimeNs();
        await j.close({ imageMtimeNs });
        this.log.info({ journal: this.config.journal }, 'journal closed clean: the mount failed before it served anything');
      } catch (e) {
        this.log.warn({ err: e }, `journal left active after the failed mount: ${messageOf(e)}`);
      }
    }
    if (!j.isClosed) await j.abandon();
    if (detached) b.image.releaseLock();
    await b.image.close().catch(() => {});
  }
}
