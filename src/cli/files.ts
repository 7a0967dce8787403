/**
 * `changes --files`: the files, directories and metadata of an ext2/3/4 file system that the
 * changed ranges belong to (report/ext-files.ts), after the ranges themselves. The ranges are
 * watched as they stream past (their blocks kept, up to MAX_BLOCKS); the naming runs at the end,
 * on the live volume or on the image, read-only.
 */
import type { ChangesSummary } from '../journal/changes.js';
import type { ExtentBatches } from '../report/stream.js';
import { MAX_BLOCKS, nameBlocks, readExtSuperblock, type FilesEntry } from '../report/ext-files.js';
import { formatSize } from '../util/size.js';
import { printable } from '../util/text.js';
import type { OpenedList } from './changes.js';

export interface FilesReport {
  /** ext2, ext3 or ext4; null when the data holds none (`note` says so). */
  filesystem: string | null;
  blockSize?: number;
  /** Read through a live mount: best effort while the file system is being written. */
  live: boolean;
  note?: string;
  entries: FilesEntry[];
}

export async function nameFiles(opened: OpenedList, summary: ChangesSummary) {
  const ranges: Array<[number, number]> = [];
  let bytes = 0;
  return {
    async *watch(batches: ExtentBatches): AsyncGenerator<import('../journal/changes.js').Extent[]> {
      for await (const batch of batches) {
        for (const e of batch) {
          ranges.push([e.offset, e.offset + e.length]);
          bytes += e.length;
        }
        yield batch;
      }
    },
    async finish(): Promise<FilesReport> {
      const live = opened.live;
      const data = await opened.dataPath();
      const info = await readExtSuperblock(data);
      if (!info) {
        return { filesystem: null, live, entries: [], note: `no ext2/3/4 file system in ${live ? 'the volume' : printable(data)}` };
      }
      if (summary.fullImage !== undefined || bytes / info.blockSize > MAX_BLOCKS) {
        const why = summary.fullImage !== undefined ? 'the list is the whole image' : `more than ${MAX_BLOCKS} blocks changed`;
        return { filesystem: info.kind, blockSize: info.blockSize, live, entries: [], note: `files not named: ${why}` };
      }
      const blocks: number[] = [];
      for (const [start, end] of ranges) {
        const last = Math.min(info.blocks, Math.ceil(end / info.blockSize)) - 1;
        for (let b = Math.floor(start / info.blockSize); b <= last; b++) blocks.push(b);
      }
      const entries = await nameBlocks(data, info, blocks);
      const note = live ? 'read from the live volume: best effort while the file system is being written' : undefined;
      return { filesystem: info.kind, blockSize: info.blockSize, live, entries, ...(note ? { note } : {}) };
    },
  };
}

export function printFilesJson(r: FilesReport): string {
  return JSON.stringify(r);
}

export function printFilesTable(r: FilesReport): string {
  if (!r.filesystem) return '';
  const lines = [`${r.filesystem} file system, blocks of ${r.blockSize} bytes${r.note ? `; ${r.note}` : ''}`];
  if (r.entries.length > 0) {
    const w = Math.max(5, ...r.entries.map((e) => formatSize(e.bytes).length));
    lines.push(`${'BYTES'.padStart(w)}  KIND        NAME`);
    for (const e of r.entries) lines.push(`${formatSize(e.bytes).padStart(w)}  ${e.kind.padEnd(10)}  ${printable(e.name)}`);
  }
  return `${lines.join('\n')}\n`;
}
