/**
 * How many bitmap pages and era index pages of the current generation are durably on disk: what
 * the version 3 header records, so that a reader can tell a page that was lost (zeroed, cut off)
 * from one that was never written. Both read as zeros; only a count kept apart from them tells.
 *
 * The count watches the journal's own I/O: every page write and fdatasync of the commit path and
 * the history goes through PageCountingIo. A page whose write completed before an fdatasync was
 * called is durable once that fdatasync returns; only then is it counted. So the header, written
 * after the fdatasync, always holds a lower bound of what is on disk: a crash at any point leaves
 * at least as many pages as the header says, and a reader that finds fewer knows pages were lost.
 *
 * After each successful fdatasync, `afterSync` runs before the caller continues: the journal then
 * writes a header if the durable counts went past the header's, so a commit is acknowledged only
 * once the header counts its pages. The count grows when a page is written for the first time in
 * a generation, so that header write happens at most once per page per generation; and the commit
 * path asks `hasUndurablePages` to sync such a commit even in ordered mode. Header writes do not
 * go through here (they would recurse); they read `durable`.
 *
 * Era pages are not counted: an era index entry says which era pages must exist (history.ts).
 */
import {
  eraIndexOffset,
  eraIndexPageCount,
  PAGE_SIZE,
  PAGES_OFFSET,
  pageOffset,
} from './format.js';
import type { JournalIo } from './journal-io.js';

export interface PageCounts {
  bitmapPages: number;
  eraIndexPages: number;
}

export class PageCountingIo implements JournalIo {
  /** Pages of the generation with a completed write (or found at load). */
  private readonly bitmapPages = new Set<number>();
  private readonly indexPages = new Set<number>();
  private durableCounts: PageCounts = { bitmapPages: 0, eraIndexPages: 0 };
  private readonly indexStart: number;
  private readonly indexEnd: number;
  /** Runs after every successful fdatasync, before the caller of datasync() continues. */
  afterSync: (() => Promise<void>) | null = null;

  constructor(private readonly inner: JournalIo, pageCount: number) {
    this.indexStart = pageOffset(pageCount);
    this.indexEnd = eraIndexOffset(pageCount, eraIndexPageCount(pageCount));
  }

  /** Pages of the generation known to be durably on disk. */
  get durable(): Readonly<PageCounts> {
    return this.durableCounts;
  }

  /** Pages written (or found) that no fdatasync has covered yet. */
  hasUndurablePages(): boolean {
    return this.bitmapPages.size > this.durableCounts.bitmapPages || this.indexPages.size > this.durableCounts.eraIndexPages;
  }

  /**
   * What a load found on disk (valid or damaged pages of the generation). They count as durable
   * only up to what the header already vouched for; the next fdatasync covers the rest.
   */
  foundAtLoad(bitmapPages: Iterable<number>, indexPages: Iterable<number>, header: PageCounts): void {
    for (const p of bitmapPages) this.bitmapPages.add(p);
    for (const q of indexPages) this.indexPages.add(q);
    this.durableCounts = {
      bitmapPages: Math.min(header.bitmapPages, this.bitmapPages.size),
      eraIndexPages: Math.min(header.eraIndexPages, this.indexPages.size),
    };
  }

  /** A new generation: nothing of it is on disk yet. */
  resetGeneration(): void {
    this.bitmapPages.clear();
    this.indexPages.clear();
    this.durableCounts = { bitmapPages: 0, eraIndexPages: 0 };
  }

  read(buf: Buffer, position: number): Promise<number> {
    return this.inner.read(buf, position);
  }

  async write(buf: Buffer, position: number): Promise<void> {
    await this.inner.write(buf, position);
    this.noteWritten(position, buf.length);
  }

  async datasync(): Promise<void> {
    const covered: PageCounts = { bitmapPages: this.bitmapPages.size, eraIndexPages: this.indexPages.size };
    await this.inner.datasync();
    this.durableCounts = {
      bitmapPages: Math.max(this.durableCounts.bitmapPages, covered.bitmapPages),
      eraIndexPages: Math.max(this.durableCounts.eraIndexPages, covered.eraIndexPages),
    };
    await this.afterSync?.();
  }

  size(): Promise<number> {
    return this.inner.size();
  }

  truncate(size: number): Promise<void> {
    return this.inner.truncate(size);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private noteWritten(position: number, length: number): void {
    const end = position + length;
    for (let at = Math.max(position, PAGES_OFFSET); at < Math.min(end, this.indexStart); at += PAGE_SIZE) {
      this.bitmapPages.add(Math.floor((at - PAGES_OFFSET) / PAGE_SIZE));
    }
    for (let at = Math.max(position, this.indexStart); at < Math.min(end, this.indexEnd); at += PAGE_SIZE) {
      this.indexPages.add(Math.floor((at - this.indexStart) / PAGE_SIZE));
    }
  }
}
