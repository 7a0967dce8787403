/**
 * The change journal: header, page cache and the one commit path.
 *
 * WRITE-AHEAD RULE. A data write may reach the image only when every cluster it touches is
 * *recorded*: a commit containing its bit has completed. What "completed" means is the
 * durability mode, and nothing else differs between the modes:
 *   strict   the page write and an fdatasync of the journal have both returned;
 *   ordered  the page write has returned (the bit is in the OS page cache, ahead of the data);
 *            fdatasync follows on sync(), periodically, and at close. Except the first write of
 *            a page in a generation: that commit syncs in both modes (see DAMAGE).
 * `recorded` changes in exactly one place, after a commit succeeds, and only from the bytes that
 * commit wrote. (dm-era lost writes in crashes by setting the in-core bit before the commit.)
 * The native data path writes to the image without asking the journal, so it keeps the same rule
 * from the other side (native/src/fastpath.h, THE RULE): it writes a cluster only if its bit is in
 * its copy of `recorded`, which it gets through PageCache's RecordedListener, from commitSucceeded
 * only; it is emptied (a checkpoint's new epoch) only while its write gate is closed and drained.
 *
 * Every mutation of the file (page commits and header writes) runs on one serial queue, so
 * there is one writer and commits never overlap. Writers that arrive while a commit runs join the
 * next batch and share its single write+fdatasync (group commit). A failed commit fails every
 * writer of its batch; their bits stay marked and dirty, so a later commit retries them.
 *
 * EPOCHS. A checkpoint ends the current epoch (see history.ts for where closed epochs live). The
 * bitmap in the page cache is always the current epoch's; a page whose bits on disk belong to a
 * closed epoch is folded into the era pages, durably (fdatasync, in both modes), before its first
 * rewrite in the new epoch: that fold is part of the same commit, ahead of the page write, and
 * nowhere else. So only the current epoch's bits ever wait in the page cache.
 *
 * FAILED FDATASYNC. fsync errors are sticky-once (Linux "fsyncgate"): after a failed fdatasync the
 * kernel may have dropped the dirty pages, and a later fdatasync succeeds without them. So every
 * page written since the last *successful* fdatasync is remembered, and a failed one makes all of
 * them dirty again: the next commit rewrites them before it syncs. A fold whose fdatasync failed is
 * not taken as done; the next commit folds again.
 *
 * DURABILITY LOSS (ordered mode). When a commit fails while pages written since the last good sync
 * hold acknowledged bits, those bits may be gone from the disk with the data already on the image.
 * The journal hands them to its guard (the daemon keeps them in a record off the journal's disk)
 * and waits for it before it fails anyone: no writer, sync or close hears of the failure before
 * the loss is recorded. Until the pages are durable again, every commit syncs.
 *
 * DAMAGE. A page that reads as zeros was either never written or lost; the file alone cannot say
 * which. So the file always has its full size (a shorter one was truncated; every header write
 * restores the size first), and the header counts the pages written in the current generation
 * once they are durable (page-counts.ts: the commit path's fdatasync writes the header when the
 * count grew, before the commit is acknowledged; a commit that writes a page not yet counted syncs
 * for that, in ordered mode too). A load that finds fewer pages than counted, or a short file,
 * reports it; recovery.ts then distrusts the journal.
 *
 * The journal knows clusters, not files or FUSE.
 */
import {
  chooseHeader,
  clusterCountFor,
  decodePage,
  encodeHeader,
  FORMAT_VERSION,
  headerSlotFor,
  HEADER_SLOT_SIZE,
  journalFileSize,
  minimumFileSize,
  newGeneration,
  pageOffset,
  type JournalState,
  PAGE_SIZE,
  PAGES_OFFSET,
  type Durability,
  type JournalHeader,
} from './format.js';
import type { JournalIo } from './journal-io.js';
import { PageCache, type RecordedListener } from './page-cache.js';
import { ErrnoError, errnoNameOf, messageOf } from '../util/errno.js';
import { PagedBitmap } from './bitmap.js';
import { addErasAbove, EraHistory } from './history.js';
import { PageCountingIo } from './page-counts.js';

export interface JournalError {
  code: string;
  message: string;
  at: number;
}

export interface JournalStats {
  commits: number;
  pagesWritten: number;
  syncs: number;
  failedCommits: number;
  lastCommitAt: number;
  lastError: JournalError | null;
  /** Bitmap pages whose closed-epoch bits were folded into era pages. */
  folds: number;
}

/** What a checkpoint did. `checkpoint` is the number of the epoch it ended (0: a new generation). */
export interface CheckpointResult {
  generation: string;
  checkpoint: number;
  at: number;
  /** The journal was untrusted: history was re-based on a new generation, trusted from here on. */
  rebased: boolean;
  /** Why the old generation could not be trusted (when rebased). */
  rebasedFrom?: string;
}

/** What the journal hands its guard when it may have lost acknowledged bits (ordered mode). */
export interface DurabilityLoss {
  generation: string;
  epoch: number;
  imageSize: number;
  clusterSize: number;
  /** When the first failure of this loss was seen (ms since the epoch). */
  at: number;
  error: JournalError;
  /** Every page whose bits may be missing from the disk, with all the bits marked in it (copies). */
  pages: { index: number; bits: Uint8Array }[];
}

/**
 * Keeps the fact of a durability loss where the journal's own failing disk cannot lose it. Called
 * on the journal's serial queue, so nothing is committed (or failed) meanwhile.
 */
export interface DurabilityGuard {
  /** Make the loss durable; throw if it cannot be (the journal then distrusts itself). */
  lost(loss: DurabilityLoss): Promise<void>;
  /** What was reported lost for `generation` is durable in the journal again (or moot: reset). */
  restored(generation: string): Promise<void>;
}

/** The checkpoint asked for is not in this journal's history (another one, or not taken yet). */
export class HistoryUnavailableError extends ErrnoError {
  constructor(message: string) {
    super('ESRCH', message);
  }
}

export interface LoadReport {
  /** Header slots that did not verify (a torn header write leaves one). */
  damagedHeaderSlots: number[];
  /** Pages that did not verify; their clusters were taken as changed. */
  damagedPages: number[];
  /** Era index pages that did not verify; the era pages they index are read for every base. */
  damagedHistoryPages: number[];
  /** Pages the file is too short to hold: it was truncated (0 when it has the size it must have). */
  missingPages: number;
  /**
   * Pages the header counts as written in this generation (version 3) that are neither valid nor
   * damaged: zeroed, or cut off. Their changes are lost.
   */
  lostPages: number;
}

/** A load report of a journal with nothing wrong. */
export function soundLoadReport(): LoadReport {
  return { damagedHeaderSlots: [], damagedPages: [], damagedHistoryPages: [], missingPages: 0, lostPages: 0 };
}

interface Batch {
  promise: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
  // A batch nobody waits on (all its writers already failed elsewhere) must not crash the process.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

const LOAD_CHUNK_PAGES = 256;

/** The journal was closed (released) under a request that still needed it. */
export class JournalClosedError extends ErrnoError {
  constructor() {
    super('EIO', 'journal is closed');
  }
}

export class Journal {
  readonly cache: PageCache;
  readonly clusterCount: number;
  readonly stats: JournalStats = { commits: 0, pagesWritten: 0, syncs: 0, failedCommits: 0, lastCommitAt: 0, lastError: null, folds: 0 };
  readonly history: EraHistory;

  private header: JournalHeader;
  /** Page writes and fdatasyncs of commits and history go through here, to be counted. */
  private readonly io: PageCountingIo;
  /** The file is known to have its full size: nothing needs restoring before a write. */
  private fullSize = false;
  private queue: Promise<unknown> = Promise.resolve();
  private nextBatch: Batch | null = null;
  /** Bitmap pages written since the last successful fdatasync: a failed one may have dropped them. */
  private readonly unsyncedPages = new Set<number>();
  /** Activated in ordered mode by this process: commits are acknowledged before they are synced. */
  private orderedActive = false;
  private guard: DurabilityGuard | null = null;
  /**
   * An outstanding durability loss: reported to the guard (or merged from its record at recovery)
   * and not yet durable in the journal again. Its pages were made dirty; once none is dirty and an
   * fdatasync succeeded, the loss is repaired. Meanwhile every commit syncs, so nothing
   * acknowledged depends on the page cache of a disk that has failed once.
   */
  private loss: { generation: string; at: number; pages: Set<number> } | null = null;
  /** Header writes in a row (this process) that said untrusted: both slots say so from two on. */
  private untrustedSlots = 0;
  private closed = false;
  private autoSyncTimer: NodeJS.Timeout | null = null;

  /** `file` is the journal file itself; header writes go straight to it. */
  private constructor(
    private readonly file: JournalIo,
    header: JournalHeader,
  ) {
    this.header = header;
    this.clusterCount = clusterCountFor(header.imageSize, header.clusterSize);
    this.cache = new PageCache(this.clusterCount);
    this.io = new PageCountingIo(file, this.cache.marked.pageCount);
    this.io.afterSync = () => this.countPagesInHeader();
    this.history = new EraHistory(this.io, this.cache.marked.pageCount);
  }

  /* ------------------------------------------------------------ open / create ---- */

  /** Formats a new journal on an empty file and makes the header durable. */
  static async create(
    io: JournalIo,
    params: { imageSize: number; clusterSize: number; imagePath: string; now?: number },
  ): Promise<Journal> {
    const now = params.now ?? Date.now();
    const header: JournalHeader = {
      version: FORMAT_VERSION,
      sequence: 0n,
      imageSize: params.imageSize,
      clusterSize: params.clusterSize,
      generation: newGeneration(),
      state: 'clean',
      reason: '',
      durability: 'strict',
      createdAt: now,
      updatedAt: now,
      imageMtimeNs: 0n,
      bootId: '',
      pid: 0,
      imagePath: params.imagePath,
      epoch: 1,
      lastCheckpointAt: 0,
      generationAt: now,
      bitmapPagesWritten: 0,
      eraIndexPagesWritten: 0,
      fsIdentity: '',
    };
    const journal = new Journal(io, header);
    // Sparse: pages cost disk only once written.
    await io.truncate(journalFileSize(params.imageSize, params.clusterSize));
    journal.fullSize = true;
    // Both slots get a valid header so a later torn write of either still leaves one.
    await io.write(encodeHeader(header), 0);
    header.sequence = 1n;
    await io.write(encodeHeader(header), HEADER_SLOT_SIZE);
    await io.datasync();
    return journal;
  }

  /**
   * Reads and verifies a journal. Format errors (JournalFormatError) propagate to the caller. The
   * work is bounded by the file's real size, never by the image size its header claims: pages the
   * file does not hold are not read (they are reported missing). `onHeader` learns the chosen
   * header before the pages are read (a reader can start looking at the image meanwhile).
   */
  static async load(
    io: JournalIo, onHeader?: (header: Readonly<JournalHeader>) => void,
  ): Promise<{ journal: Journal; report: LoadReport }> {
    const headerArea = Buffer.alloc(PAGES_OFFSET);
    await io.read(headerArea, 0);
    const { header, damaged } = chooseHeader(headerArea);
    onHeader?.({ ...header });
    const fileSize = await io.size();
    const journal = new Journal(io, header);
    journal.fullSize = fileSize >= journalFileSize(header.imageSize, header.clusterSize);
    const required = minimumFileSize(header);
    const report: LoadReport = { ...soundLoadReport(), damagedHeaderSlots: damaged.map((d) => d.slot) };
    if (fileSize < required) report.missingPages = Math.ceil((required - fileSize) / PAGE_SIZE);
    const pageCount = journal.cache.marked.pageCount;
    const heldPages = Math.min(pageCount, Math.ceil(Math.max(0, fileSize - PAGES_OFFSET) / PAGE_SIZE));
    /** Bitmap pages of this generation found, valid or damaged. */
    const present: number[] = [];
    const chunk = Buffer.alloc(LOAD_CHUNK_PAGES * PAGE_SIZE);
    for (let first = 0; first < heldPages; first += LOAD_CHUNK_PAGES) {
      const n = Math.min(LOAD_CHUNK_PAGES, heldPages - first);
      const got = await io.read(chunk.subarray(0, n * PAGE_SIZE), pageOffset(first));
      if (got < n * PAGE_SIZE) chunk.fill(0, got, n * PAGE_SIZE); // cut inside the last page
      for (let i = 0; i < n; i++) {
        const page = decodePage(chunk.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE), first + i, header.generation);
        if (page.kind === 'valid' || page.kind === 'damaged') present.push(first + i);
        if (page.kind === 'valid' && page.epoch === header.epoch) journal.cache.loadPage(first + i, page.bits);
        else if (page.kind === 'valid' && page.epoch < header.epoch) journal.history.loadUnfolded(first + i, page.epoch, page.bits);
        else if (page.kind === 'valid' || page.kind === 'damaged') {
          // A page from an epoch that has not begun cannot be: corruption, like a bad checksum.
          // Which epochs wrote its clusters is lost: every one of them is taken as changed in the
          // current epoch and in the newest closed one (folded, so on disk, by the next commit),
          // so any range of checkpoints lists them all.
          journal.cache.loadDamagedPage(first + i);
          journal.history.loadDamaged(first + i, header.epoch - 1);
          report.damagedPages.push(first + i);
        }
      }
    }
    const index = await journal.history.loadIndex(header.generation, header.epoch - 1, fileSize);
    report.damagedHistoryPages = index.damaged;
    // A damaged page counts as found: it is taken as fully changed. A page counted but not found
    // held changes that are gone.
    report.lostPages =
      Math.max(0, header.bitmapPagesWritten - present.length) + Math.max(0, header.eraIndexPagesWritten - index.present.length);
    journal.io.foundAtLoad(present, index.present, { bitmapPages: header.bitmapPagesWritten, eraIndexPages: header.eraIndexPagesWritten });
    return { journal, report };
  }

  /* ------------------------------------------------------------------ queries ---- */

  get state(): JournalHeader['state'] {
    return this.header.state;
  }
  get clusterSize(): number {
    return this.header.clusterSize;
  }
  get imageSize(): number {
    return this.header.imageSize;
  }
  get generation(): string {
    return this.header.generation;
  }
  get durability(): Durability {
    return this.header.durability;
  }
  get epoch(): number {
    return this.header.epoch;
  }
  get isClosed(): boolean {
    return this.closed;
  }
  /** A durability loss is outstanding (see `loss`). */
  get lossOutstanding(): boolean {
    return this.loss !== null;
  }
  headerSnapshot(): Readonly<JournalHeader> {
    return { ...this.header };
  }
  /**
   * Pages on disk (found at load, or written) that the header does not count yet: the window the
   * format names under "What the counts cannot see" (docs/journal-format.md), in which a page
   * zeroed by corruption cannot be told from one never written.
   */
  get hasUncountedPages(): boolean {
    return this.io.hasUndurablePages();
  }
  /**
   * Tells `listener` (the native data path) of every recorded bit, now and after each commit; see
   * the WRITE-AHEAD RULE above. Null stops it.
   */
  shareRecorded(listener: RecordedListener | null): void {
    this.cache.setListener(listener);
  }

  /** Clusters marked in the current epoch (recorded or being recorded). */
  changedClusterCount(): number {
    return this.cache.marked.countSet();
  }

  /** The guard a durability loss is handed to (the daemon's record keeper); null: none. */
  setDurabilityGuard(guard: DurabilityGuard | null): void {
    this.guard = guard;
  }

  /**
   * Recovery: bits a durability record kept for pages the disk may have lost. They are merged into
   * the current epoch (a cluster changed in it was changed since every checkpoint of it) and
   * rewritten by the next commit; the loss stays outstanding until that commit is synced, and the
   * guard is then told it is restored.
   */
  mergeLostPages(pages: readonly { index: number; bits: Uint8Array }[]): void {
    for (const { index, bits } of pages) this.cache.mergePage(index, bits);
    this.loss = { generation: this.header.generation, at: Date.now(), pages: new Set(pages.map((p) => p.index)) };
  }

  /* ------------------------------------------------------- the write-ahead path ---- */

  /**
   * Asks for clusters [first, last] to be recorded. Returns null when they already are (the fast
   * path: a bitmap test, no allocation), else a promise that settles when a commit that contains
   * them has completed, or rejects if it failed.
   */
  record(first: number, last: number): Promise<void> | null {
    if (this.cache.isRecorded(first, last)) return null;
    if (this.closed) return Promise.reject(new JournalClosedError());
    this.cache.mark(first, last);
    return this.scheduleCommit();
  }

  /** Whether `cluster` is marked (recorded, or in a commit that is pending or running). */
  isMarked(cluster: number): boolean {
    return this.cache.isMarked(cluster);
  }

  /**
   * Marks [first, last] for a write expected soon, and has a commit scheduled without anyone
   * waiting on it: the write then finds its clusters recorded, or waits for less. A failure of that
   * commit is counted like any other and the bits stay pending: the next commit retries them and
   * the writes that need them wait for it.
   */
  markAhead(first: number, last: number): void {
    if (this.closed || first > last) return;
    this.cache.mark(first, last);
    this.scheduleCommit().catch(() => {});
  }

  /** The commit that will contain everything marked until now. */
  private scheduleCommit(): Promise<void> {
    let batch = this.nextBatch;
    if (!batch) {
      const b = (batch = this.nextBatch = newBatch());
      this.enqueue(() => {
        this.nextBatch = null;
        return this.commitPages(this.header.durability === 'strict' || this.loss !== null);
      }).then(b.resolve, b.reject);
    }
    return batch.promise;
  }

  /** Makes every marked bit durable (fsync of the volume, periodic and final flush). */
  sync(): Promise<void> {
    if (this.closed) return Promise.reject(new JournalClosedError());
    return this.enqueue(() => this.commitPages(true));
  }

  /* ---------------------------------------------------------- state changes ---- */

  /**
   * Makes the journal active before any write is served: rewrites damaged pages (and bits merged
   * from a durability record) and records the mode, the boot, the daemon and the identity of the
   * journal's file system (fs-identity.ts), durably. An untrusted journal stays untrusted.
   */
  activate(params: { durability: Durability; bootId: string; pid: number; imagePath: string; fsIdentity?: string }): Promise<void> {
    return this.enqueue(async () => {
      await this.restoreFileSize();
      await this.commitPages(true);
      // The pages found at load count from here on: make sure they are durable (after a process
      // crash they may be only in the page cache), then the activation header records them.
      if (this.io.hasUndurablePages()) await this.io.datasync();
      await this.writeHeader({
        state: this.header.state === 'untrusted' ? 'untrusted' : 'active',
        durability: params.durability,
        bootId: params.bootId,
        pid: params.pid,
        imagePath: params.imagePath,
        fsIdentity: params.fsIdentity ?? '',
      });
      this.orderedActive = params.durability === 'ordered';
    });
  }

  /** Records durably that the journal can no longer be trusted, and why. Sticky until reset. */
  markUntrusted(reason: string): Promise<void> {
    return this.enqueue(() => this.writeHeader({ state: 'untrusted', reason }));
  }

  /**
   * Forgets all history: a new generation, an empty bitmap, trusted again. If the new header
   * cannot be written, the old generation goes on without the history just dropped: it is marked
   * untrusted (in memory at least), never left trusted with fewer changes than were written.
   */
  reset(): Promise<void> {
    return this.enqueue(async () => {
      this.cache.reset();
      this.history.reset();
      this.io.resetGeneration();
      this.unsyncedPages.clear();
      const now = Date.now();
      const state = this.header.state === 'clean' ? 'clean' : 'active';
      try {
        await this.writeHeader({ generation: newGeneration(), state, reason: '', epoch: 1, lastCheckpointAt: 0, generationAt: now });
      } catch (e) {
        const reason = `a reset of the journal failed (${describeError(e).code}) after its history was dropped`;
        this.header = { ...this.header, state: 'untrusted', reason };
        await this.writeHeader({ state: 'untrusted', reason }).catch(() => {});
        throw e;
      }
    });
  }

  /**
   * Ends the current epoch: everything recorded so far belongs to it, later writes to the next.
   * The caller must have quiesced data writes (none issued and not yet complete): a data write in
   * flight across the boundary would belong to neither side. Bits marked but not yet recorded are
   * carried into the new epoch.
   *
   * An untrusted journal cannot say what changed before this point, but can from here on: it is
   * re-based on a new generation (trusted, empty, checkpoint 0). `rebaseAs` says what state the
   * new generation starts in: `active` under a mount; `clean` offline, with the image's mtime.
   */
  checkpoint(rebaseAs: { state: 'active' } | { state: 'clean'; imageMtimeNs: bigint } = { state: 'active' }): Promise<CheckpointResult> {
    if (this.closed) return Promise.reject(new JournalClosedError());
    return this.enqueue(async () => {
      await this.commitPages(true);
      const at = Date.now();
      if (this.header.state === 'untrusted') {
        const rebasedFrom = this.header.reason || 'journal was untrusted';
        const changes: Partial<JournalHeader> = {
          generation: newGeneration(),
          state: rebaseAs.state as JournalState,
          reason: '',
          epoch: 1,
          lastCheckpointAt: at,
          generationAt: at,
        };
        if (rebaseAs.state === 'clean') changes.imageMtimeNs = rebaseAs.imageMtimeNs;
        this.io.resetGeneration();
        await this.writeHeader(changes);
        this.cache.reset();
        this.history.reset();
        this.unsyncedPages.clear();
        // A loss of the old generation is moot: nothing of it is trusted any more.
        if (this.loss) await this.lossRepaired();
        return { generation: this.header.generation, checkpoint: 0, at, rebased: true, rebasedFrom };
      }
      const closed = this.header.epoch;
      await this.writeHeader({ epoch: closed + 1, lastCheckpointAt: at });
      this.history.closeEpoch(closed, this.cache.recorded);
      this.cache.startEpoch();
      return { generation: this.header.generation, checkpoint: closed, at, rebased: false };
    });
  }

  /**
   * Clusters written after checkpoint `base` of the current generation, up to now at least (a
   * write that lands while this runs may be included). Reads the era pages of the pages whose
   * history reaches past `base`, one chunk at a time on the serial queue, so commits go on.
   */
  async changedSince(base: number): Promise<PagedBitmap> {
    this.checkBase(base, this.header.epoch - 1);
    const out = new PagedBitmap(this.clusterCount);
    // Everything in memory is copied in this tick: a checkpoint or fold later cannot take it away.
    for (let p = 0; p < out.pageCount; p++) {
      const bits = this.cache.marked.page(p);
      if (bits) out.orPage(p, bits);
    }
    return this.addClosedEpochs(out, base, Infinity);
  }

  /**
   * Clusters written after checkpoint `base` and up to checkpoint `until` (base <= until, both
   * closed epochs of the current generation). Every cluster written in between is in `changed`.
   * The era pages keep each cluster's last closed epoch, not all of them: a cluster written again
   * after `until`, in a page folded since, may hide a write in between, so it is listed as well
   * (more, never less), and `uncertain` counts such clusters not otherwise known to have changed.
   * Exact (uncertain 0) when `until` is the latest checkpoint.
   */
  async changedBetween(base: number, until: number): Promise<{ changed: PagedBitmap; uncertain: number }> {
    this.checkBase(until, this.header.epoch - 1);
    this.checkBase(base, this.header.epoch - 1);
    if (base > until) throw new RangeError(`checkpoint ${base} is after checkpoint ${until}`);
    const changed = new PagedBitmap(this.clusterCount);
    if (base === until) return { changed, uncertain: 0 };
    const later = new PagedBitmap(this.clusterCount);
    await this.addClosedEpochs(changed, base, until, later);
    let uncertain = 0;
    for (const run of later.runs()) {
      for (let c = run.start; c < run.start + run.count; c++) if (!changed.test(c)) uncertain++;
      changed.setRange(run.start, run.start + run.count - 1);
    }
    return { changed, uncertain };
  }

  private checkBase(base: number, newest: number): void {
    if (!Number.isSafeInteger(base) || base < 0 || base > newest) {
      throw new HistoryUnavailableError(`checkpoint ${base} does not exist (the last checkpoint is ${this.header.epoch - 1})`);
    }
  }

  /**
   * Adds the closed epochs' clusters to `out`: unfolded pages of an epoch in (base, until], and
   * every cluster whose era is in (base, until]; a cluster whose era is after `until` (or in a
   * damaged page of a later epoch, which stands for an era) goes to `later`, or to `out` when
   * there is none (changedSince: "up to now"). The unfolded pages are copied in the caller's tick,
   * so a fold meanwhile cannot take them away.
   */
  private async addClosedEpochs(out: PagedBitmap, base: number, until: number, later: PagedBitmap = out): Promise<PagedBitmap> {
    const generation = this.header.generation;
    for (const [p, u] of this.history.unfolded) {
      if (u.epoch <= base) continue;
      if (u.epoch <= until) out.orPage(p, u.bits);
      else if (u.hidesOlder) later.orPage(p, u.bits);
    }
    const toRead = this.history.pagesFoldedAbove(base);
    const CHUNK = 8;
    for (let i = 0; i < toRead.length; i += CHUNK) {
      const chunk = toRead.slice(i, i + CHUNK);
      await this.enqueue(async () => {
        if (this.header.generation !== generation) throw new HistoryUnavailableError('the history was reset while it was being read');
        for (const p of chunk) {
          const eras = await this.history.readEras(p, generation);
          addErasAbove(out, p, eras, base, until);
          if (later !== out) addErasAbove(later, p, eras, until);
        }
      });
    }
    if (this.header.generation !== generation) throw new HistoryUnavailableError('the history was reset while it was being read');
    return out;
  }

  /**
   * Final flush: commits every marked bit, then records a clean close with the image's mtime so
   * the next mount can tell whether the image was touched while nobody tracked it. If the flush
   * fails the header is left active (the next mount applies the crash rules) and the error is
   * thrown. The file is closed either way.
   */
  async close(params: { imageMtimeNs: bigint } | null): Promise<void> {
    if (this.closed) return;
    this.stopAutoSync();
    try {
      await this.enqueue(async () => {
        await this.commitPages(true);
        if (params) {
          await this.writeHeader({
            state: this.header.state === 'untrusted' ? 'untrusted' : 'clean',
            imageMtimeNs: params.imageMtimeNs,
            pid: 0,
          });
        }
      });
    } finally {
      this.closed = true;
      await this.io.close().catch(() => {});
    }
  }

  /** Closes the file without writing anything (read-only views, or a journal being abandoned). */
  async abandon(): Promise<void> {
    this.stopAutoSync();
    this.closed = true;
    await this.io.close().catch(() => {});
  }

  /**
   * Ordered mode: fdatasync at most every intervalMs while there is something unsynced, or dirty
   * (a failed commit's pages: retried, so the mount recovers by itself when the disk does).
   */
  startAutoSync(intervalMs: number, onError: (e: unknown) => void): void {
    this.stopAutoSync();
    this.autoSyncTimer = setInterval(() => {
      if (!this.closed && (this.unsyncedPages.size > 0 || this.cache.dirtyCount() > 0)) this.sync().catch(onError);
    }, intervalMs);
    this.autoSyncTimer.unref();
  }

  private stopAutoSync(): void {
    if (this.autoSyncTimer) clearInterval(this.autoSyncTimer);
    this.autoSyncTimer = null;
  }

  /* --------------------------------------------------- the one commit path ---- */

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => {});
    return run;
  }

  /** Writes every dirty page; with `sync`, then fdatasyncs. Runs only on the serial queue. */
  private async commitPages(sync: boolean): Promise<void> {
    // The snapshot is taken before the first await: everything marked until now is in it.
    const snaps = this.cache.takeSnapshot(this.header.generation, this.header.epoch);
    if (snaps.length === 0 && !(sync && this.unsyncedPages.size > 0)) return;
    let syncing = sync;
    try {
      if (this.closed) throw new JournalClosedError();
      // History before the page: a page holding a closed epoch's bits is folded, and the fold is
      // durable, before the page is overwritten with the new epoch's bits. Once per page per
      // epoch, so ordered mode pays this fdatasync too: only the current epoch is ever at risk.
      const folds = snaps.filter((s) => this.history.needsFold(s.index)).map((s) => s.index);
      if (folds.length > 0) {
        const folded = await this.history.fold(folds, this.header.generation);
        await this.datasync();
        folded();
        this.stats.folds += folds.length;
      }
      // Wait for every write to settle before failing: a write still in flight must not land after
      // the retry of its page by the next commit (it would roll the page back on disk).
      const writes = await Promise.allSettled(snaps.map((s) => this.io.write(s.bytes, pageOffset(s.index))));
      writes.forEach((w, i) => {
        if (w.status === 'fulfilled') this.pageWritten(snaps[i]!.index);
      });
      const failed = writes.find((w): w is PromiseRejectedResult => w.status === 'rejected');
      if (failed) throw failed.reason;
      // A page written for the first time in the generation is not acknowledged until the header
      // counts it (the fdatasync below writes that header): in ordered mode too, or a page zeroed
      // after a daemon's death could not be told from one never written. Once per page per
      // generation, so ordered mode keeps its unsynced commits for every rewrite.
      syncing = sync || this.io.hasUndurablePages();
      if (syncing) await this.datasync();
    } catch (e) {
      this.cache.commitFailed(snaps);
      this.stats.failedCommits++;
      // Recorded before anyone hears of the failure (the waiters of this batch reject after this).
      await this.durabilityLost(e);
      this.stats.lastError = describeError(e);
      throw e;
    }
    this.cache.commitSucceeded(snaps);
    this.stats.commits++;
    this.stats.pagesWritten += snaps.length;
    this.stats.lastCommitAt = Date.now();
    if (syncing) this.stats.syncs++;
  }

  private pageWritten(index: number): void {
    this.unsyncedPages.add(index);
  }

  /**
   * fdatasync of the journal. On failure, every page written since the last good one is dirty
   * again (sticky-once errors: a later fdatasync would succeed without them). On success, an
   * outstanding loss whose pages have all been rewritten since is repaired.
   */
  private datasync(): Promise<void> {
    return this.synced(() => this.io.datasync());
  }

  /** Runs an fdatasync of the journal's file under the rule above (datasync, or a header's own). */
  private async synced(sync: () => Promise<void>): Promise<void> {
    try {
      await sync();
    } catch (e) {
      this.cache.redirty(this.unsyncedPages);
      throw e;
    }
    this.unsyncedPages.clear();
    if (this.loss && ![...this.loss.pages].some((p) => this.cache.isDirty(p))) await this.lossRepaired();
  }

  /**
   * A write or sync of an ordered-mode journal failed: the pages written since the last good sync
   * hold acknowledged bits whose data may be on the image already. Hand them (and every page still
   * dirty, which costs nothing) to the guard before the failure is reported; with none, the record
   * still says that nothing acknowledged was at risk from then on. Strict mode acknowledges nothing
   * unsynced; nor does any commit while a loss is outstanding (they sync), so a loss is reported
   * once, however often a dead disk fails the retries.
   */
  private async durabilityLost(e: unknown): Promise<void> {
    // A commit that comes after close (a write marked ahead, say) lost nothing: close synced.
    if (!this.orderedActive || !this.guard || this.loss || e instanceof JournalClosedError) return;
    const pages = new Set([...this.unsyncedPages, ...this.cache.dirtyPages()]);
    this.cache.redirty(pages);
    const at = Date.now();
    this.loss = { generation: this.header.generation, at, pages };
    const copies = [...pages]
      .sort((a, b) => a - b)
      .flatMap((index) => {
        const bits = this.cache.marked.page(index);
        return bits ? [{ index, bits: new Uint8Array(bits) }] : [];
      });
    try {
      await this.guard.lost({
        generation: this.header.generation,
        epoch: this.header.epoch,
        imageSize: this.header.imageSize,
        clusterSize: this.header.clusterSize,
        at,
        error: describeError(e),
        pages: copies,
      });
    } catch (guardError) {
      // Nowhere to keep the bits: the journal can no longer vouch for itself (kept in memory even
      // if the header cannot be written, as markUntrusted does).
      const reason = `the journal's disk failed at ${new Date(at).toISOString()} before changes were synced (${describeError(e).code}), and the record of those changes could not be kept (${(guardError as Error).message}): changes not yet synced may be lost`;
      this.header = { ...this.header, state: 'untrusted', reason };
      await this.writeHeader({ state: 'untrusted', reason }).catch(() => {});
    }
  }

  /** The outstanding loss is durable in the journal again (or moot): the guard may forget it. */
  private async lossRepaired(): Promise<void> {
    const loss = this.loss;
    if (!loss) return;
    try {
      await this.guard?.restored(loss.generation);
      if (this.loss === loss) this.loss = null;
    } catch {
      // The record stays; so does the loss (commits keep syncing), and the next good sync retries.
    }
  }

  /**
   * Writes the next header slot and fdatasyncs, straight to the file (not through the page count:
   * the header records it). Restores the file's full size first. Runs only on the serial queue.
   */
  private async writeHeader(changes: Partial<JournalHeader>): Promise<void> {
    // Any header write upgrades a version 1 or 2 journal: its pages read as epoch 1 (version 1),
    // its size is made full, and its page counts start from what the load found.
    const counts = { bitmapPagesWritten: this.io.durable.bitmapPages, eraIndexPagesWritten: this.io.durable.eraIndexPages };
    const next: JournalHeader = {
      ...this.header,
      ...changes,
      ...counts,
      version: FORMAT_VERSION,
      sequence: this.header.sequence + 1n,
      updatedAt: Date.now(),
    };
    if (next.state !== 'untrusted') next.reason = changes.reason ?? '';
    try {
      if (this.closed) throw new JournalClosedError();
      await this.restoreFileSize();
      await this.file.write(encodeHeader(next), headerSlotFor(next.sequence) * HEADER_SLOT_SIZE);
      // Straight to the file: a sync through the page count would write a header again.
      await this.synced(() => this.file.datasync());
    } catch (e) {
      // In memory the journal is untrusted even if the disk could not be told.
      if (changes.state === 'untrusted') this.header = { ...this.header, state: 'untrusted', reason: changes.reason ?? '' };
      await this.durabilityLost(e);
      this.stats.lastError = describeError(e);
      throw e;
    }
    this.header = next;
    // Untrusted is one-way: written to one slot only, the loss of that slot (a bad sector) would
    // bring back the older header, trusted. So the first header that says untrusted is written
    // to the other slot too; a failure of that second write leaves what the first made durable.
    this.untrustedSlots = next.state === 'untrusted' ? this.untrustedSlots + 1 : 0;
    if (this.untrustedSlots === 1) await this.writeHeader({}).catch(() => {});
  }

  /**
   * After an fdatasync of the commit path: if it made pages durable that the header does not count
   * yet, writes a header that does (at most once per page per generation). Runs on the queue,
   * inside the task that synced. A failure is recorded (stats.lastError) but fails no writer: the
   * pages are durable, the header's count only stays behind (still a lower bound) until the next
   * fdatasync tries again.
   */
  private async countPagesInHeader(): Promise<void> {
    const d = this.io.durable;
    if (this.closed || (d.bitmapPages <= this.header.bitmapPagesWritten && d.eraIndexPages <= this.header.eraIndexPagesWritten)) return;
    await this.writeHeader({}).catch(() => {});
  }

  /**
   * A file shorter than its full size (truncated; or of version 1 or 2, which a header write
   * upgrades) is brought to it, durably, before anything is written: a page written past the end
   * would leave a hole before it, and a version 3 header claims the full size.
   */
  private async restoreFileSize(): Promise<void> {
    if (this.fullSize) return;
    const full = journalFileSize(this.header.imageSize, this.header.clusterSize);
    if ((await this.file.size()) < full) {
      await this.file.truncate(full);
      await this.file.datasync();
    }
    this.fullSize = true;
  }
}

export function describeError(e: unknown): JournalError {
  return { code: errnoNameOf(e), message: messageOf(e), at: Date.now() };
}

