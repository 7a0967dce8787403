/**
 * `changes --format bmap`: a block map in bmap-tools' format 2.0, so that
 * `bmaptool copy --bmap FILE VOLUME DEVICE` brings an older copy of the image on DEVICE up to date
 * by writing the changed ranges only, and verifies each one by its SHA-256.
 *
 * The checksums are of the bytes as read here, from the live volume or the image: what changes
 * after they were read fails bmaptool's verification (quiesce the writer first). The file's own
 * checksum (BmapFileChecksum) covers the whole file, header included, and the header counts the
 * mapped blocks, so neither is known before the last range: the ranges go to a private temporary
 * file as they are read (memory stays bounded), then the header, then the ranges are copied out.
 */
import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openExisting } from '../util/file-type.js';
import { fsError } from '../util/fs-errors.js';
import type { ExtentBatches, Sink } from './stream.js';

export const BMAP_VERSION = '2.0';
const CHECKSUM_TYPE = 'sha256';
const ZERO_CHECKSUM = '0'.repeat(64);
const READ_CHUNK = 4 << 20;

export interface BmapParams {
  imageSize: number;
  /** The bmap's block: the cluster size, or the coarser unit asked for. */
  blockSize: number;
  /** Where the bytes are read: the mount's volume, or the image. */
  dataPath: string;
  /** One line for the comment at the top (checkpoint ids only: nothing a user typed). */
  describe: string;
}

/** The header, with `checksum` in its place (64 zeros while the file's checksum is computed). */
export function bmapHeader(p: { imageSize: number; blockSize: number; mappedBlocks: number; describe: string }, checksum: string): string {
  const blocks = Math.ceil(p.imageSize / p.blockSize);
  return '<?xml version="1.0" ?>\n'
    // An XML comment may not hold two hyphens in a row.
    + `<!-- ${p.describe.replace(/-{2,}/g, '-')}: the blocks that bmaptool copy writes, verifying each range's checksum. -->\n`
    + `<bmap version="${BMAP_VERSION}">\n`
    + `    <ImageSize> ${p.imageSize} </ImageSize>\n`
    + `    <BlockSize> ${p.blockSize} </BlockSize>\n`
    + `    <BlocksCount> ${blocks} </BlocksCount>\n`
    + `    <MappedBlocksCount> ${p.mappedBlocks} </MappedBlocksCount>\n`
    + `    <ChecksumType> ${CHECKSUM_TYPE} </ChecksumType>\n`
    + `    <BmapFileChecksum> ${checksum} </BmapFileChecksum>\n`
    + '    <BlockMap>\n';
}

export const BMAP_FOOTER = '    </BlockMap>\n</bmap>\n';

export function bmapRange(first: number, last: number, sha256: string): string {
  return `        <Range chksum="${sha256}"> ${first === last ? first : `${first}-${last}`} </Range>\n`;
}

/** SHA-256 of [offset, offset + length) of an open file, read in bounded chunks. */
async function hashRange(data: FileHandle, path: string, offset: number, length: number, buf: Buffer): Promise<string> {
  const hash = createHash('sha256');
  let done = 0;
  while (done < length) {
    const want = Math.min(buf.length, length - done);
    let got;
    try {
      got = (await data.read(buf, 0, want, offset + done)).bytesRead;
    } catch (e) {
      throw fsError('cannot read', path, e);
    }
    if (got === 0) throw fsError('cannot read', path, Object.assign(new Error('short read'), { code: 'EIO' }));
    hash.update(buf.subarray(0, got));
    done += got;
  }
  return hash.digest('hex');
}

/** Reads the ranges of `batches` from the data, and writes the bmap file to `write`. */
export async function writeBmap(batches: ExtentBatches, p: BmapParams, write: Sink): Promise<{ mappedBlocks: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'trackfs-bmap-'));
  try {
    const bodyPath = join(dir, 'ranges');
    const body = await open(bodyPath, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW, 0o600);
    const data = await openExisting('data', p.dataPath, fsConstants.O_RDONLY, ['file', 'block']).catch((e: unknown) => {
      throw fsError('cannot open', p.dataPath, e);
    });
    let mappedBlocks = 0;
    try {
      const buf = Buffer.alloc(READ_CHUNK);
      for await (const batch of batches) {
        let text = '';
        for (const e of batch) {
          const first = Math.floor(e.offset / p.blockSize);
          const last = Math.ceil((e.offset + e.length) / p.blockSize) - 1;
          mappedBlocks += last - first + 1;
          // A range is read from its first block's start to its last block's end (or the image's).
          const start = first * p.blockSize;
          const end = Math.min(p.imageSize, (last + 1) * p.blockSize);
          text += bmapRange(first, last, await hashRange(data, p.dataPath, start, end - start, buf));
        }
        await body.write(text);
      }
    } finally {
      await data.close().catch(() => {});
      await body.close();
    }
    const fields = { imageSize: p.imageSize, blockSize: p.blockSize, mappedBlocks, describe: p.describe };
    const fileHash = createHash('sha256').update(bmapHeader(fields, ZERO_CHECKSUM));
    for await (const chunk of readChunks(bodyPath)) fileHash.update(chunk);
    fileHash.update(BMAP_FOOTER);
    await write(bmapHeader(fields, fileHash.digest('hex')));
    for await (const chunk of readChunks(bodyPath)) await write(chunk.toString('utf8'));
    await write(BMAP_FOOTER);
    return { mappedBlocks };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The file in chunks of whole lines (every line of the body is ASCII, so any cut is safe). */
async function* readChunks(path: string): AsyncGenerator<Buffer> {
  const h = await open(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
  try {
    const buf = Buffer.alloc(1 << 20);
    for (let pos = 0; ;) {
      const { bytesRead } = await h.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) return;
      pos += bytesRead;
      yield Buffer.from(buf.subarray(0, bytesRead));
    }
  } finally {
    await h.close();
  }
}
