/**
 * Copies byte ranges from a source (an image, or a mount's volume) into a target of the same
 * size, a few chunks at a time, and can verify them afterwards: every chunk's SHA-256 as read from
 * the source is checked against the target read back after fdatasync. (The source is not read
 * twice: under a live mount it may have moved on, which is not a copy error.)
 */
import { constants as fsConstants } from 'node:fs';
import { type FileHandle } from 'node:fs/promises';
import { openExisting } from '../util/file-type.js';
import { ErrnoError } from '../util/errno.js';
import { fsError } from '../util/fs-errors.js';
import { createHash } from 'node:crypto';
import type { Extent } from '../journal/changes.js';

export const CHUNK_BYTES = 1 << 20;
const PARALLEL_CHUNKS = 4;

export interface CopyOptions {
  /** The target was just created sparse: an all-zero chunk need not be written. */
  sparseTarget: boolean;
  verify: boolean;
  onProgress?: (bytesDone: number) => void;
  /** Awaited once, after the first chunk is in the target (a test hook holds the copy there). */
  afterFirstChunk?: () => Promise<void>;
}

export interface CopyResult {
  /** Extents copied. */
  extents: number;
  /** Bytes read from the source and placed in the target. */
  copiedBytes: number;
  /** Of those, bytes actually written (zero chunks of a new sparse target are skipped). */
  writtenBytes: number;
  /** Chunks checked when verifying, how many differed, and the first few of those. */
  verifiedChunks: number;
  mismatchedChunks: number;
  mismatches: Extent[];
}

interface Chunk { offset: number; length: number; sha?: Buffer }

/** The chunks of every extent, in order; counts the extents as they go by. */
async function* chunksOf(batches: AsyncIterable<Extent[]> | Iterable<Extent[]>, counted: { extents: number }): AsyncGenerator<Chunk> {
  for await (const batch of batches) {
    for (const e of batch) {
      counted.extents++;
      for (let off = e.offset; off < e.offset + e.length; off += CHUNK_BYTES) {
        yield { offset: off, length: Math.min(CHUNK_BYTES, e.offset + e.length - off) };
      }
    }
  }
}

function isZero(buf: Buffer): boolean {
  // Compare 8 bytes at a time; chunks are a multiple of 8 except perhaps the image's last one.
  const words = buf.length >> 3;
  for (let i = 0; i < words; i++) if (buf.readBigUInt64LE(i * 8) !== 0n) return false;
  for (let i = words * 8; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

async function readFully(h: FileHandle, buf: Buffer, length: number, position: number, what: string): Promise<void> {
  let done = 0;
  while (done < length) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await h.read(buf, done, length - done, position + done));
    } catch (e) {
      throw fsError('cannot read', what, e);
    }
    if (bytesRead === 0) throw new ErrnoError('EIO', `${what} ended at ${position + done}, before the end of the range`);
    done += bytesRead;
  }
}

async function writeFully(h: FileHandle, buf: Buffer, length: number, position: number, what: string): Promise<void> {
  let done = 0;
  try {
    while (done < length) {
      const { bytesWritten } = await h.write(buf, done, length - done, position + done);
      // A write that takes nothing would loop for ever: a full device that does not say so.
      if (bytesWritten === 0) throw new ErrnoError('EIO', `${what}: a write at ${position + done} wrote nothing`);
      done += bytesWritten;
    }
  } catch (e) {
    throw fsError('cannot write', what, e);
  }
}

/** Runs `work` over `items` with at most `parallel` at a time; stops at the first error. */
async function forEachParallel<T>(
  items: AsyncIterator<T> | Iterator<T>,
  parallel: number,
  work: (item: T, buf: Buffer) => Promise<void>,
): Promise<void> {
  let failed: unknown = null;
  const lane = async (): Promise<void> => {
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    for (let next = await items.next(); !next.done && !failed; next = await items.next()) {
      try {
        await work(next.value, buf);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  if (failed) throw failed;
}

/**
 * Copies the extents (in batches, as a change list streams them) from the source into the target.
 * `extents` in the result counts them.
 */
export async function copyExtents(
  sourcePath: string,
  targetPath: string,
  batches: AsyncIterable<Extent[]> | Iterable<Extent[]>,
  opts: CopyOptions,
): Promise<CopyResult> {
  const source = await openExisting('source', sourcePath, fsConstants.O_RDONLY, ['file', 'block']);
  let target: FileHandle | null = null;
  try {
    target = await openExisting('target', targetPath, fsConstants.O_RDWR, ['file', 'block']);
    const result: CopyResult = { extents: 0, copiedBytes: 0, writtenBytes: 0, verifiedChunks: 0, mismatchedChunks: 0, mismatches: [] };
    const copied: Chunk[] = [];
    let held: Promise<void> | null = null;
    await forEachParallel(chunksOf(batches, result), PARALLEL_CHUNKS, async (c, buf) => {
      const data = buf.subarray(0, c.length);
      await readFully(source, data, c.length, c.offset, `source ${sourcePath}`);
      if (opts.verify) {
        c.sha = createHash('sha256').update(data).digest();
        copied.push(c);
      }
      if (!(opts.sparseTarget && isZero(data))) {
        await writeFully(target!, data, c.length, c.offset, `target ${targetPath}`);
        result.writtenBytes += c.length;
      }
      result.copiedBytes += c.length;
      opts.onProgress?.(result.copiedBytes);
      if (held === null && opts.afterFirstChunk) held = opts.afterFirstChunk();
      if (held) await held;
    });
    await target.datasync().catch((e: unknown) => {
      throw fsError('cannot write', `target ${targetPath}`, e);
    });
    if (opts.verify) {
      await forEachParallel(copied[Symbol.iterator](), PARALLEL_CHUNKS, async (c, buf) => {
        const data = buf.subarray(0, c.length);
        await readFully(target!, data, c.length, c.offset, `target ${targetPath}`);
        result.verifiedChunks++;
        if (createHash('sha256').update(data).digest().equals(c.sha!)) return;
        if (result.mismatchedChunks++ < 10) result.mismatches.push({ offset: c.offset, length: c.length });
      });
    }
    return result;
  } finally {
    await target?.close().catch(() => {});
    await source.close().catch(() => {});
  }
}
