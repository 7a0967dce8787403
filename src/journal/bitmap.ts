/**
 * A bitmap of clusters, held in pages that match the journal's page geometry so a page of bits
 * can be encoded or loaded without reshaping. Pages are allocated on first set: a 16 TiB image
 * with a handful of written clusters costs a handful of pages, and counting, listing runs or
 * clearing visits only those (never every page a header's image size implies).
 *
 * Bit c lives in page floor(c / CLUSTERS_PER_PAGE), byte (c % CLUSTERS_PER_PAGE) >> 3,
 * bit ((c % CLUSTERS_PER_PAGE) & 7), least significant bit first.
 */
import { CLUSTERS_PER_PAGE, PAGE_BITMAP_BYTES, pageCountFor } from './format.js';

const POPCOUNT = new Uint8Array(256);
for (let i = 1; i < 256; i++) POPCOUNT[i] = (i & 1) + POPCOUNT[i >> 1]!;

export interface ClusterRun {
  /** First cluster of the run. */
  start: number;
  /** Number of clusters in the run. */
  count: number;
}

export class PagedBitmap {
  readonly pageCount: number;
  private readonly pages: (Uint8Array | undefined)[];
  /** Indices of the allocated pages. */
  private readonly allocated = new Set<number>();

  constructor(readonly clusterCount: number) {
    if (!Number.isSafeInteger(clusterCount) || clusterCount < 0) throw new RangeError(`bad cluster count ${clusterCount}`);
    this.pageCount = pageCountFor(clusterCount);
    this.pages = new Array(this.pageCount);
  }

  test(cluster: number): boolean {
    const page = this.pages[Math.floor(cluster / CLUSTERS_PER_PAGE)];
    if (!page) return false;
    const bit = cluster % CLUSTERS_PER_PAGE;
    return (page[bit >> 3]! & (1 << (bit & 7))) !== 0;
  }

  /** True when every cluster in [first, last] is set. The write fast path: no allocation. */
  allSet(first: number, last: number): boolean {
    for (let c = first; c <= last; c++) if (!this.test(c)) return false;
    return true;
  }

  /**
   * Sets [first, last]; calls onPageChanged once for each page that gained a bit. Returns how many
   * bits were newly set.
   */
  setRange(first: number, last: number, onPageChanged?: (page: number) => void): number {
    this.checkRange(first, last);
    let added = 0;
    let c = first;
    while (c <= last) {
      const p = Math.floor(c / CLUSTERS_PER_PAGE);
      const pageEnd = Math.min(last, (p + 1) * CLUSTERS_PER_PAGE - 1);
      const page = this.pages[p] ?? this.allocate(p);
      let pageAdded = 0;
      for (let bit = c - p * CLUSTERS_PER_PAGE, end = pageEnd - p * CLUSTERS_PER_PAGE; bit <= end; bit++) {
        const mask = 1 << (bit & 7);
        const i = bit >> 3;
        if ((page[i]! & mask) === 0) {
          page[i] = page[i]! | mask;
          pageAdded++;
        }
      }
      if (pageAdded > 0) {
        added += pageAdded;
        onPageChanged?.(p);
      }
      c = pageEnd + 1;
    }
    return added;
  }

  /** The live bits of a page, or undefined when the page has no bit set. Do not keep it across awaits. */
  page(index: number): Uint8Array | undefined {
    return this.pages[index];
  }

  /** ORs a page of bits in (loading from disk, or marking a commit's snapshot durable). */
  orPage(index: number, bits: Uint8Array): void {
    if (index < 0 || index >= this.pageCount) throw new RangeError(`page ${index} out of range`);
    let page = this.pages[index];
    if (!page) {
      let any = false;
      for (let i = 0; i < PAGE_BITMAP_BYTES; i++) if (bits[i]) { any = true; break; }
      if (!any) return;
      page = this.allocate(index);
    }
    for (let i = 0; i < PAGE_BITMAP_BYTES; i++) page[i] = page[i]! | bits[i]!;
    this.clearTail(index);
  }

  /** Sets every cluster of a page (a damaged page after a crash: assume all of it changed). */
  fillPage(index: number): void {
    const first = index * CLUSTERS_PER_PAGE;
    this.setRange(first, Math.min(this.clusterCount, first + CLUSTERS_PER_PAGE) - 1);
  }

  setAll(): void {
    if (this.clusterCount > 0) this.setRange(0, this.clusterCount - 1);
  }

  clear(): void {
    for (const p of this.allocated) this.pages[p] = undefined;
    this.allocated.clear();
  }

  countSet(): number {
    let n = 0;
    for (const p of this.allocated) {
      const page = this.pages[p]!;
      for (let i = 0; i < page.length; i++) n += POPCOUNT[page[i]!]!;
    }
    return n;
  }

  allocatedPages(): number {
    return this.allocated.size;
  }

  /** Maximal runs of set clusters, in order. */
  *runs(): Generator<ClusterRun> {
    let runStart = -1;
    /** The page after the last one visited: a run still open there ends at its start. */
    let next = 0;
    for (const p of [...this.allocated].sort((a, b) => a - b)) {
      const page = this.pages[p]!;
      const base = p * CLUSTERS_PER_PAGE;
      if (runStart >= 0 && p !== next) { yield { start: runStart, count: next * CLUSTERS_PER_PAGE - runStart }; runStart = -1; }
      next = p + 1;
      for (let i = 0; i < PAGE_BITMAP_BYTES; i++) {
        const byte = page[i]!;
        if (byte === 0 && runStart < 0) continue;
        if (byte === 0xff && runStart >= 0) continue;
        for (let b = 0; b < 8; b++) {
          const c = base + i * 8 + b;
          const set = (byte & (1 << b)) !== 0;
          if (set && runStart < 0) runStart = c;
          else if (!set && runStart >= 0) { yield { start: runStart, count: c - runStart }; runStart = -1; }
        }
      }
    }
    if (runStart >= 0) yield { start: runStart, count: Math.min(this.clusterCount, next * CLUSTERS_PER_PAGE) - runStart };
  }

  private allocate(index: number): Uint8Array {
    const page = (this.pages[index] = new Uint8Array(PAGE_BITMAP_BYTES));
    this.allocated.add(index);
    return page;
  }

  private checkRange(first: number, last: number): void {
    if (!(Number.isSafeInteger(first) && Number.isSafeInteger(last) && first >= 0 && first <= last && last < this.clusterCount)) {
      throw new RangeError(`cluster range [${first}, ${last}] outside [0, ${this.clusterCount})`);
    }
  }

  /** Bits past the last cluster never count, even if a page on disk had them set. */
  private clearTail(index: number): void {
    if (index !== this.pageCount - 1) return;
    const used = this.clusterCount - index * CLUSTERS_PER_PAGE;
    const page = this.pages[index];
    if (!page || used >= CLUSTERS_PER_PAGE) return;
    const fullBytes = used >> 3;
    if (used & 7) page[fullBytes] = page[fullBytes]! & ((1 << (used & 7)) - 1);
    page.fill(0, (used + 7) >> 3);
  }
}
