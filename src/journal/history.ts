/**
 * The history of closed epochs: what a consumer with an older base needs, kept off the write path.
 *
 * The current epoch lives in the page cache (one bit per cluster). When a checkpoint closes epoch
 * e, the recorded bits of e stay where they are on disk (their pages are tagged e) and move here,
 * in memory, as "unfolded" pages. A page's old bits are folded into its era pages (one u32 per
 * cluster: the last closed epoch that wrote it) only when the page is about to be rewritten in a
 * newer epoch, and the fold is on disk before that rewrite is (see Journal.commitPages). Folding
 * takes the maximum, so doing it twice (a crash between fold and rewrite) changes nothing.
 *
 * The era index keeps, per bitmap page, the newest epoch ever folded into that page's era pages:
 * a query for "since base" reads only the era pages of pages whose index entry is above base.
 *
 * A damaged era page (torn write) loses which epoch wrote each of its clusters: every cluster of it
 * takes the page's index entry, the newest epoch that could be there. So does an era page that is
 * not there at all (zeroed, stale, past the end of the file) although the index says its bitmap
 * page was folded: a fold writes all 32 era pages with the index entry that says so (see
 * readEras for the one crash window where they may be missing and nothing is lost). A damaged
 * index page takes the newest closed epoch for each of its entries. All of these only ever report
 * more, never less. (An index page that is zeroed or cut off reads as "never folded": only the
 * header's count of index pages can tell; see Journal.load.)
 *
 * Runs only on the journal's serial queue when it touches the file; the journal calls it.
 */
import type { JournalIo } from './journal-io.js';
import type { PagedBitmap } from './bitmap.js';
import {
  CLUSTERS_PER_PAGE,
  decodeMetaPage,
  encodeMetaPage,
  ERA_PAGES_PER_BITMAP_PAGE,
  ERAS_PER_PAGE,
  eraIndexOffset,
  eraIndexPageCount,
  eraPagesOffset,
  PAGE_BITMAP_BYTES,
  PAGE_SIZE,
} from './format.js';

export interface UnfoldedPage {
  epoch: number;
  /** Never mutated once here: queries may hold it across awaits. */
  bits: Uint8Array;
  /**
   * The page was damaged: `epoch` stands for every closed epoch up to it, as an era does once the
   * page is folded (the older eras on disk may miss writes that the damaged page held).
   */
  hidesOlder?: true;
}

const ERA_BLOCK_BYTES = ERA_PAGES_PER_BITMAP_PAGE * PAGE_SIZE;

export interface IndexLoad {
  /** Index pages that did not verify. */
  damaged: number[];
  /** Index pages of this generation found (valid or damaged): what the header's count is checked against. */
  present: number[];
}

export class EraHistory {
  /**
   * Per bitmap page: the newest epoch folded into its era pages; 0 = none. Allocated on the first
   * fold or non-empty index page, so a journal that never folded costs nothing per page.
   */
  private foldedEpochs: Uint32Array | null = null;
  readonly unfolded = new Map<number, UnfoldedPage>();
  private readonly indexPages: number;

  constructor(private readonly io: JournalIo, readonly pageCount: number) {
    this.indexPages = eraIndexPageCount(pageCount);
  }

  /** Per bitmap page, the newest epoch folded into its era pages (for inspection). */
  get folded(): Uint32Array {
    return this.foldedEpochs ?? new Uint32Array(this.pageCount);
  }

  foldedEpoch(page: number): number {
    return this.foldedEpochs?.[page] ?? 0;
  }

  /** Bitmap pages whose era pages hold an epoch after `base`: the ones a query since `base` reads. */
  pagesFoldedAbove(base: number): number[] {
    const out: number[] = [];
    const f = this.foldedEpochs;
    if (f) for (let p = 0; p < f.length; p++) if (f[p]! > base) out.push(p);
    return out;
  }

  private foldedForWrite(): Uint32Array {
    return (this.foldedEpochs ??= new Uint32Array(this.pageCount));
  }

  /**
   * Reads the era index pages that the file holds (`fileSize`). `newestClosed` stands in for the
   * entries of a damaged index page.
   */
  async loadIndex(generation: string, newestClosed: number, fileSize: number): Promise<IndexLoad> {
    const damaged: number[] = [];
    const present: number[] = [];
    const buf = Buffer.alloc(PAGE_SIZE);
    for (let q = 0; q < this.indexPages && eraIndexOffset(this.pageCount, q) < fileSize; q++) {
      const got = await this.io.read(buf, eraIndexOffset(this.pageCount, q));
      if (got < PAGE_SIZE) buf.fill(0, got);
      const page = decodeMetaPage(buf, 'era-index', q, generation);
      const first = q * ERAS_PER_PAGE;
      const n = Math.min(ERAS_PER_PAGE, this.pageCount - first);
      if (page.kind === 'valid') {
        present.push(q);
        const entries = page.entries.subarray(0, n);
        if (entries.some((e) => e !== 0)) this.foldedForWrite().set(entries, first);
      } else if (page.kind === 'damaged') {
        present.push(q);
        if (newestClosed > 0) this.foldedForWrite().fill(newestClosed, first, first + n);
        damaged.push(q);
      }
    }
    return { damaged, present };
  }

  /**
   * A bitmap page that did not verify at load: its bits of every closed epoch may be gone. All of
   * its clusters are taken as written in `newestClosed` (0: there is no closed epoch), which lists
   * them in every range of checkpoints that a query can name (more, never less).
   */
  loadDamaged(page: number, newestClosed: number): void {
    if (newestClosed < 1) return;
    // Bits past the last cluster are ignored by every reader (PagedBitmap clears them).
    this.unfolded.set(page, { epoch: newestClosed, bits: new Uint8Array(PAGE_BITMAP_BYTES).fill(0xff), hidesOlder: true });
  }

  /** A page read at load whose bits belong to an older epoch. */
  loadUnfolded(page: number, epoch: number, bits: Uint8Array): void {
    if (bits.some((b) => b !== 0)) this.unfolded.set(page, { epoch, bits });
  }

  /**
   * Epoch `epoch` is closed: its recorded pages become unfolded history. A page that gained no bit
   * in the epoch keeps whatever older bits it still had unfolded.
   */
  closeEpoch(epoch: number, recorded: PagedBitmap): void {
    for (let p = 0; p < this.pageCount; p++) {
      const bits = recorded.page(p);
      if (bits) this.unfolded.set(p, { epoch, bits: new Uint8Array(bits) });
    }
  }

  reset(): void {
    this.unfolded.clear();
    this.foldedEpochs = null;
  }

  needsFold(page: number): boolean {
    return this.unfolded.has(page);
  }

  /**
   * Writes the unfolded bits of `pages` into their era pages and the index, and returns what makes
   * them folded in memory. The caller calls it only once the writes are durable (fdatasync), and
   * before any of these pages is rewritten: a failed fdatasync may have dropped the writes (fsync
   * errors are sticky-once), and the pages must then stay unfolded so the next commit folds them
   * again (folding is a max, so folding twice changes nothing).
   */
  async fold(pages: readonly number[], generation: string): Promise<() => void> {
    const block = Buffer.alloc(ERA_BLOCK_BYTES);
    const touchedIndexPages = new Set<number>();
    const newFolded = new Map<number, number>();
    for (const p of pages) {
      const u = this.unfolded.get(p);
      if (!u) continue;
      const eras = await this.readEras(p, generation, block);
      for (let i = 0; i < PAGE_BITMAP_BYTES; i++) {
        const byte = u.bits[i]!;
        if (byte === 0) continue;
        for (let b = 0; b < 8; b++) {
          if (!(byte & (1 << b))) continue;
          const c = i * 8 + b;
          if (eras[c]! < u.epoch) eras[c] = u.epoch;
        }
      }
      for (let k = 0; k < ERA_PAGES_PER_BITMAP_PAGE; k++) {
        encodeMetaPage(block.subarray(k * PAGE_SIZE, (k + 1) * PAGE_SIZE), 'era', p * ERA_PAGES_PER_BITMAP_PAGE + k, generation,
          eras.subarray(k * ERAS_PER_PAGE, (k + 1) * ERAS_PER_PAGE));
      }
      await this.io.write(block, eraPagesOffset(this.pageCount, p));
      newFolded.set(p, Math.max(this.foldedEpoch(p), u.epoch));
      touchedIndexPages.add(Math.floor(p / ERAS_PER_PAGE));
    }
    const index = Buffer.alloc(PAGE_SIZE);
    for (const q of touchedIndexPages) {
      const entries = new Uint32Array(ERAS_PER_PAGE);
      for (let i = 0; i < ERAS_PER_PAGE && q * ERAS_PER_PAGE + i < this.pageCount; i++) {
        const p = q * ERAS_PER_PAGE + i;
        entries[i] = newFolded.get(p) ?? this.foldedEpoch(p);
      }
      await this.io.write(encodeMetaPage(index, 'era-index', q, generation, entries), eraIndexOffset(this.pageCount, q));
    }
    return () => {
      for (const [p, e] of newFolded) {
        this.foldedForWrite()[p] = e;
        this.unfolded.delete(p);
      }
    };
  }

  /**
   * Reads the era pages of bitmap page `p` into one array of CLUSTERS_PER_PAGE entries: all zero
   * if the page was never folded. Once it was, each of its era pages must be there and valid; one
   * that is damaged, or not there (zeroed, stale, past the end of the file), reads as the index
   * entry. One exception: while the bitmap page still holds the very epoch the index entry names,
   * the fold that wrote the entry may have been cut by a crash before its era pages reached the
   * disk (they are written together, then synced, then the bitmap page is rewritten). Its bits
   * are still in the bitmap page, so a missing era page lost nothing and reads as zeros.
   */
  async readEras(p: number, generation: string, block = Buffer.alloc(ERA_BLOCK_BYTES)): Promise<Uint32Array> {
    const eras = new Uint32Array(CLUSTERS_PER_PAGE);
    const folded = this.foldedEpoch(p);
    if (folded === 0) return eras;
    const foldMayBeCut = this.unfolded.get(p)?.epoch === folded;
    const got = await this.io.read(block, eraPagesOffset(this.pageCount, p));
    if (got < block.length) block.fill(0, got);
    for (let k = 0; k < ERA_PAGES_PER_BITMAP_PAGE; k++) {
      const page = decodeMetaPage(block.subarray(k * PAGE_SIZE, (k + 1) * PAGE_SIZE), 'era', p * ERA_PAGES_PER_BITMAP_PAGE + k, generation);
      if (page.kind === 'valid') eras.set(page.entries, k * ERAS_PER_PAGE);
      else if (page.kind === 'damaged' || !foldMayBeCut) eras.fill(folded, k * ERAS_PER_PAGE, (k + 1) * ERAS_PER_PAGE);
    }
    return eras;
  }
}

/** Sets in `into` every cluster of page `p` whose era is above `base` (and at most `until`). */
export function addErasAbove(into: PagedBitmap, p: number, eras: Uint32Array, base: number, until = Infinity): void {
  const first = p * CLUSTERS_PER_PAGE;
  let runStart = -1;
  const n = Math.min(CLUSTERS_PER_PAGE, into.clusterCount - first);
  for (let i = 0; i <= n; i++) {
    const above = i < n && eras[i]! > base && eras[i]! <= until;
    if (above && runStart < 0) runStart = i;
    else if (!above && runStart >= 0) {
      into.setRange(first + runStart, first + i - 1);
      runStart = -1;
    }
  }
}
