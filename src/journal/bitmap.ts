/**
 * A bitmap of clusters, held in pages that match the journal's page geometry so a page of bits
 * can be encoded or loaded without reshaping. Pages are allocated on first set: a 16 TiB image
 * with a handful of written clusters costs a handful of pages, and counting, listing runs or
 * clearing visits only those (never every page a header's image size implies).
 *
 * Bit c lives in page floor(c / CLUSTERS_PER_PAGE), byte (c % CLUSTERS_PER_PAGE) >> 3,
 * bit ((c % CLUSTERS_PER_PAGE) & 7), least significant bit first.
 */
import { endianness } from 'node:os';
import { CLUSTERS_PER_PAGE, PAGE_BITMAP_BYTES, pageCountFor } from './format.js';

const POPCOUNT = new Uint8Array(256);
for (let i = 1; i < 256; i++) POPCOUNT[i] = (i & 1) + POPCOUNT[i >> 1]!;

/**
 * Whole-page work (counting, OR-ing, listing runs of a 16 TiB bitmap: 33 MB) goes 32 bits at a
 * time where a page can be viewed as words: on a little-endian machine, bit k of word w is then
 * bit (k & 7) of byte 4w + (k >> 3), the same cluster as in the byte layout.
 */
const WORDS = PAGE_BITMAP_BYTES % 4 === 0 && endianness() === 'LE';
const WORDS_PER_PAGE = PAGE_BITMAP_BYTES >> 2;
const MAX_SLAB_PAGES = 64;

/** Signed words: every value stays a small integer to V8 (a Uint32Array's upper half would be doubles). */
function wordsOf(bits: Uint8Array): Int32Array | null {
  if (!WORDS || bits.byteOffset % 4 !== 0 || bits.length < PAGE_BITMAP_BYTES) return null;
  return new Int32Array(bits.buffer, bits.byteOffset, WORDS_PER_PAGE);
}

function popcount32(x: number): number {
  if (x === 0) return 0;
  x = (x - ((x >>> 1) & 0x55555555)) | 0;
  x = ((x & 0x33333333) + ((x >>> 2) & 0x33333333)) | 0;
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Index of the lowest set bit of a non-zero word. */
function lowestBit(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Set bits [lo, hi) of one page: whole words (or bytes) in the middle, bit by bit at the edges. */
function countBits(page: Uint8Array, lo: number, hi: number): number {
  let n = 0;
  const bit = (k: number) => (page[k >> 3]! >> (k & 7)) & 1;
  const words = wordsOf(page);
  const unit = words ? 32 : 8;
  while (lo < hi && lo % unit !== 0) n += bit(lo++);
  if (words) for (; hi - lo >= 32; lo += 32) n += popcount32(words[lo >> 5]!);
  else for (; hi - lo >= 8; lo += 8) n += POPCOUNT[page[lo >> 3]!]!;
  while (lo < hi) n += bit(lo++);
  return n;
}

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
  /**
   * Pages are cut from slabs that double in size up to MAX_SLAB_PAGES: a bitmap of thousands of
   * pages costs a few dozen allocations instead of one each (and far less garbage collection),
   * and at most one slab's unused part is ever wasted.
   */
  private slab: Uint8Array | null = null;
  private slabNext = 0;

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
    const page = this.pages[index];
    if (!page) {
      let any = false;
      const from = wordsOf(bits);
      if (from) for (let i = 0; i < WORDS_PER_PAGE && !any; i++) any = from[i] !== 0;
      else for (let i = 0; i < PAGE_BITMAP_BYTES && !any; i++) any = bits[i] !== 0;
      if (!any) return;
      this.allocate(index).set(bits.subarray(0, PAGE_BITMAP_BYTES));
    } else {
      const to = wordsOf(page);
      const from = to && wordsOf(bits);
      if (to && from) for (let i = 0; i < WORDS_PER_PAGE; i++) to[i] = to[i]! | from[i]!;
      else for (let i = 0; i < PAGE_BITMAP_BYTES; i++) page[i] = page[i]! | bits[i]!;
    }
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
    this.slab = null;
  }

  countSet(): number {
    let n = 0;
    for (const p of this.allocated) {
      const page = this.pages[p]!;
      const words = wordsOf(page);
      if (words) for (let i = 0; i < WORDS_PER_PAGE; i++) n += popcount32(words[i]!);
      else for (let i = 0; i < page.length; i++) n += POPCOUNT[page[i]!]!;
    }
    return n;
  }

  /** Set clusters in [first, first + count) (clipped to the bitmap): a map's cell, without listing runs. */
  countRange(first: number, count: number): number {
    const end = Math.min(this.clusterCount, first + count);
    let n = 0;
    for (let at = Math.max(0, first); at < end;) {
      const p = Math.floor(at / CLUSTERS_PER_PAGE);
      const pageEnd = Math.min(end, (p + 1) * CLUSTERS_PER_PAGE);
      const page = this.pages[p];
      if (page) n += countBits(page, at - p * CLUSTERS_PER_PAGE, pageEnd - p * CLUSTERS_PER_PAGE);
      at = pageEnd;
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
      const words = wordsOf(page);
      if (words) {
        // Only the transitions are visited: the lowest bit that starts or ends a run, word by word.
        for (let i = 0; i < WORDS_PER_PAGE; i++) {
          let w = words[i]! | 0;
          if (runStart < 0 ? w === 0 : w === -1) continue;
          const at = base + i * 32;
          for (;;) {
            if (runStart < 0) {
              if (w === 0) break;
              const b = lowestBit(w);
              runStart = at + b;
              // Bits below and at b are now "in the run": look for the first clear bit above b.
              w = b === 31 ? -1 : w | ((1 << (b + 1)) - 1);
            } else {
              if (w === -1) break;
              const b = lowestBit(~w);
              yield { start: runStart, count: at + b - runStart };
              runStart = -1;
              w = b === 31 ? 0 : w & ~((1 << (b + 1)) - 1);
            }
          }
        }
        continue;
      }
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
    if (!this.slab || this.slabNext === this.slab.length) {
      const pages = Math.min(MAX_SLAB_PAGES, this.pageCount - this.allocated.size, Math.max(1, this.allocated.size));
      this.slab = new Uint8Array(pages * PAGE_BITMAP_BYTES);
      this.slabNext = 0;
    }
    const page = (this.pages[index] = this.slab.subarray(this.slabNext, this.slabNext + PAGE_BITMAP_BYTES));
    this.slabNext += PAGE_BITMAP_BYTES;
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
