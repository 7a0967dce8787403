/**
 * The journal's page cache: what writers asked for, what the disk is known to hold, and which
 * pages differ.
 *
 * - `marked`: every cluster a writer asked to record. Live; changes at any time.
 * - `recorded`: clusters a completed commit put on disk. Changes only in commitSucceeded(), and
 *   only from the bytes that were actually written (the snapshot), never from `marked`.
 * - `dirty`: pages whose `marked` bits may not all be on disk yet.
 *
 * A commit snapshots its dirty pages into private buffers and clears their dirty flags. Writers
 * keep setting bits in the live pages while the snapshot is in flight; such a page is dirty again
 * and the next commit writes it again. No bit is lost between the two writes: it is either in the
 * snapshot or the page is dirty.
 */
import { PagedBitmap } from './bitmap.js';
import { encodePage, PAGE_HEADER_SIZE, PAGE_SIZE } from './format.js';

export interface PageSnapshot {
  index: number;
  /** The encoded page as it goes to disk (header, checksum, bits). */
  bytes: Buffer;
}

/**
 * Whoever else acts on `recorded` (the native data path, src/native/fastpath.ts): told of exactly
 * the bits a commit made recorded, after it, and when recorded starts empty again (a new epoch or
 * generation). It never hears of a bit earlier than this cache holds it.
 */
export interface RecordedListener {
  orPage(index: number, bits: Uint8Array): void;
  clear(): void;
}

export class PageCache {
  readonly marked: PagedBitmap;
  readonly recorded: PagedBitmap;
  private readonly dirty = new Set<number>();
  private listener: RecordedListener | null = null;
  private readonly markDirty = (page: number): void => { this.dirty.add(page); };

  constructor(readonly clusterCount: number) {
    this.marked = new PagedBitmap(clusterCount);
    this.recorded = new PagedBitmap(clusterCount);
  }

  isRecorded(first: number, last: number): boolean {
    return this.recorded.allSet(first, last);
  }

  isMarked(cluster: number): boolean {
    return this.marked.test(cluster);
  }

  /** Marks [first, last]; pages that gained a bit become dirty. */
  mark(first: number, last: number): void {
    this.marked.setRange(first, last, this.markDirty);
  }

  dirtyCount(): number {
    return this.dirty.size;
  }

  /** Encodes every dirty page, tagged with `epoch`, into its own buffer and clears the dirty set. */
  takeSnapshot(generation: string, epoch: number): PageSnapshot[] {
    if (this.dirty.size === 0) return [];
    const snaps: PageSnapshot[] = [];
    for (const index of this.dirty) {
      snaps.push({ index, bytes: encodePage(Buffer.allocUnsafe(PAGE_SIZE), index, generation, this.marked.page(index), epoch) });
    }
    this.dirty.clear();
    snaps.sort((a, b) => a.index - b.index);
    return snaps;
  }

  /** The snapshot is on disk: exactly its bits become recorded (here, then for the listener). */
  commitSucceeded(snaps: readonly PageSnapshot[]): void {
    for (const s of snaps) {
      const bits = s.bytes.subarray(PAGE_HEADER_SIZE);
      this.recorded.orPage(s.index, bits);
      this.listener?.orPage(s.index, bits);
    }
  }

  /** Sets (or with null, drops) the listener, and tells it every page recorded so far. */
  setListener(listener: RecordedListener | null): void {
    this.listener = listener;
    if (!listener) return;
    listener.clear();
    for (let p = 0; p < this.recorded.pageCount; p++) {
      const bits = this.recorded.page(p);
      if (bits) listener.orPage(p, bits);
    }
  }

  /** The snapshot may not be on disk: its pages are dirty again so a later commit retries them. */
  commitFailed(snaps: readonly PageSnapshot[]): void {
    for (const s of snaps) this.dirty.add(s.index);
  }

  /** Pages whose writes may not reach the disk (a failed fdatasync): the next commit rewrites them. */
  redirty(pages: Iterable<number>): void {
    for (const index of pages) this.dirty.add(index);
  }

  isDirty(index: number): boolean {
    return this.dirty.has(index);
  }

  dirtyPages(): IterableIterator<number> {
    return this.dirty.values();
  }

  /**
   * Bits kept elsewhere for a page the disk may have lost (a durability record): marked and
   * recorded, and the page dirty so the next commit writes them back.
   */
  mergePage(index: number, bits: Uint8Array): void {
    this.marked.orPage(index, bits);
    this.recorded.orPage(index, bits);
    this.dirty.add(index);
  }

  /** Bits read back from disk at load are both marked and recorded. */
  loadPage(index: number, bits: Uint8Array): void {
    this.marked.orPage(index, bits);
    this.recorded.orPage(index, bits);
  }

  /**
   * A page that did not verify: treat all its clusters as changed, and rewrite it so the disk
   * holds a valid page again.
   */
  loadDamagedPage(index: number): void {
    this.marked.fillPage(index);
    this.recorded.fillPage(index);
    this.dirty.add(index);
  }

  /** Forgets every bit (a new generation); the caller rewrites the header. */
  reset(): void {
    this.marked.clear();
    this.recorded.clear();
    this.dirty.clear();
    this.listener?.clear();
  }

  /**
   * A new epoch begins: recorded bits belong to the closed one (the caller keeps them as history).
   * Bits marked but not yet recorded were asked for by writes that have not been issued: they are
   * carried into the new epoch, whose next commit records them.
   */
  startEpoch(): void {
    const carried: [number, Uint8Array][] = [];
    for (const index of this.dirty) {
      const marked = this.marked.page(index);
      if (!marked) continue;
      const recorded = this.recorded.page(index);
      const bits = new Uint8Array(marked.length);
      for (let i = 0; i < bits.length; i++) bits[i] = marked[i]! & ~(recorded?.[i] ?? 0);
      carried.push([index, bits]);
    }
    this.reset();
    for (const [index, bits] of carried) {
      this.marked.orPage(index, bits);
      if (this.marked.page(index)) this.dirty.add(index);
    }
  }
}
