/**
 * The durability record: the fact that an ordered-mode journal lost durability, kept where the
 * journal's own failing disk cannot lose it (the per-user state directory, util/state-dir.ts),
 * with the bits that may be gone from the journal.
 *
 * In ordered mode a bit reaches the journal's page cache before its data reaches the image and is
 * synced up to a second later. When a journal write or sync fails, the pages written since the
 * last good sync may never reach the disk, while their data is on the image already. The daemon
 * then writes this record before it tells anyone of the failure (journal.ts, DurabilityGuard);
 * recovery (recovery.ts) merges the record's bits and the journal stays trusted, or, if there is a
 * record it cannot use, distrusts the journal. The record is removed once its bits are durable in
 * the journal again.
 *
 * One file per journal generation, `<state dir>/<generation>.loss`, mode 0600: JSON, then a last
 * line `sha256:<hex>` over everything before it. It is written to a new temporary file
 * (O_CREAT|O_EXCL|O_NOFOLLOW), fdatasync'ed, renamed into place, and the directory is fsync'ed, so
 * it is either absent or whole. One that does not verify is damaged, and a damaged record is never
 * trusted to hold anything: the journal is then untrusted.
 */
import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { open, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { replaceDurably, syncDirectory } from '../util/durable-replace.js';
import { preparePrivateDir, privateDirExists } from '../util/private-dir.js';
import { PAGE_BITMAP_BYTES } from './format.js';

export const RECORD_FORMAT = 'trackfs-durability-loss';
export const RECORD_VERSION = 1;
/**
 * Bitmap pages a record keeps at most (16 MiB of bits, 2 GiB of image each at 64 KiB clusters).
 * More pages written within one sync interval than this: the record says only that durability
 * was lost (`complete: false`), and recovery distrusts the journal.
 */
export const MAX_RECORD_PAGES = 4096;
/** A record file larger than this cannot be one trackfs wrote: damaged. */
const MAX_RECORD_BYTES = 64 * 1024 * 1024;

export interface DurabilityRecord {
  generation: string;
  /** The journal file it belongs to (the inode is compared at recovery; the rest is for people). */
  journal: { path: string; device: string; inode: string };
  /** When durability was lost (ms since the epoch). */
  lostAt: number;
  /** Why, in words ("journal fdatasync failed: EIO ..."). */
  reason: string;
  errorCode: string;
  /** The journal's epoch then; the bits belong to it. */
  epoch: number;
  imageSize: number;
  clusterSize: number;
  /** False when there were more pages at risk than a record keeps: `pages` is then empty. */
  complete: boolean;
  /** How many bitmap pages were at risk. */
  pagesAtRisk: number;
  /** Each page at risk, with every bit marked in it. */
  pages: { index: number; bits: Uint8Array }[];
}

export class DamagedRecordError extends Error {}

export type RecordLookup =
  | { kind: 'none' }
  | { kind: 'found'; path: string; record: DurabilityRecord }
  | { kind: 'damaged'; path: string; why: string }
  /** The state directory cannot be trusted or read: whether there is a record cannot be told. */
  | { kind: 'unusable'; why: string };

export function recordPath(dir: string, generation: string): string {
  return join(dir, `${generation}.loss`);
}

/** Clusters a record holds (set bits of its pages). */
export function recordClusterCount(r: DurabilityRecord): number {
  let n = 0;
  for (const p of r.pages) for (const byte of p.bits) { let b = byte; while (b) { n += b & 1; b >>= 1; } }
  return n;
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function encodeRecord(r: DurabilityRecord): Buffer {
  const body = JSON.stringify({
    format: RECORD_FORMAT,
    version: RECORD_VERSION,
    generation: r.generation,
    journal: r.journal,
    lostAt: r.lostAt,
    lostAtIso: new Date(r.lostAt).toISOString(),
    reason: r.reason,
    errorCode: r.errorCode,
    epoch: r.epoch,
    imageSize: r.imageSize,
    clusterSize: r.clusterSize,
    complete: r.complete,
    pagesAtRisk: r.pagesAtRisk,
    pages: r.pages.map((p) => [p.index, Buffer.from(p.bits.buffer, p.bits.byteOffset, p.bits.byteLength).toString('base64')]),
  });
  return Buffer.from(`${body}\nsha256:${sha256(body)}\n`, 'utf8');
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Decodes a record file; throws DamagedRecordError saying what is wrong. */
export function decodeRecord(bytes: Buffer): DurabilityRecord {
  const text = bytes.toString('utf8');
  const m = /^([^\n]*)\nsha256:([0-9a-f]{64})\n$/.exec(text);
  if (!m) throw new DamagedRecordError('not a complete record (no checksum line)');
  if (sha256(m[1]!) !== m[2]) throw new DamagedRecordError('checksum mismatch');
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(m[1]!) as Record<string, unknown>;
  } catch {
    throw new DamagedRecordError('not JSON');
  }
  if (o['format'] !== RECORD_FORMAT) throw new DamagedRecordError('not a trackfs durability record');
  if (o['version'] !== RECORD_VERSION) throw new DamagedRecordError(`record version ${String(o['version'])} is not ${RECORD_VERSION}`);
  const j = o['journal'] as Record<string, unknown> | null;
  const fieldsOk = typeof o['generation'] === 'string' && /^[0-9a-f]{32}$/.test(o['generation'])
    && j !== null && typeof j === 'object' && typeof j['path'] === 'string' && typeof j['device'] === 'string' && typeof j['inode'] === 'string'
    && isCount(o['lostAt']) && typeof o['reason'] === 'string' && typeof o['errorCode'] === 'string'
    && isCount(o['epoch']) && (o['epoch'] as number) >= 1 && isCount(o['imageSize']) && (o['imageSize'] as number) > 0
    && isCount(o['clusterSize']) && (o['clusterSize'] as number) > 0 && typeof o['complete'] === 'boolean'
    && isCount(o['pagesAtRisk']) && Array.isArray(o['pages']);
  if (!fieldsOk) throw new DamagedRecordError('a field is missing or out of range');
  const pages: DurabilityRecord['pages'] = [];
  for (const entry of o['pages'] as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 2 || !isCount(entry[0]) || typeof entry[1] !== 'string') throw new DamagedRecordError('a page entry is malformed');
    const bits = Buffer.from(entry[1], 'base64');
    if (bits.length !== PAGE_BITMAP_BYTES) throw new DamagedRecordError(`page ${entry[0]} holds ${bits.length} bytes of bits, not ${PAGE_BITMAP_BYTES}`);
    pages.push({ index: entry[0], bits: new Uint8Array(bits) });
  }
  if (o['complete'] === true && pages.length > (o['pagesAtRisk'] as number)) throw new DamagedRecordError('more pages than were at risk');
  return {
    generation: o['generation'] as string,
    journal: { path: j!['path'] as string, device: j!['device'] as string, inode: j!['inode'] as string },
    lostAt: o['lostAt'] as number,
    reason: o['reason'] as string,
    errorCode: o['errorCode'] as string,
    epoch: o['epoch'] as number,
    imageSize: o['imageSize'] as number,
    clusterSize: o['clusterSize'] as number,
    complete: o['complete'] as boolean,
    pagesAtRisk: o['pagesAtRisk'] as number,
    pages,
  };
}

/**
 * Writes (or replaces) the record of `r.generation` in `dir` durably: file and directory synced
 * before this resolves. Creates the directory (0700) if needed; refuses one that is not private.
 */
export async function writeRecord(dir: string, r: DurabilityRecord): Promise<string> {
  await preparePrivateDir(dir);
  const final = recordPath(dir, r.generation);
  await replaceDurably(final, encodeRecord(r), { mode: 0o600, tmpPrefix: `.${r.generation}` });
  return final;
}

/** Looks for the record of `generation` in `dir`. Never throws. */
export async function lookupRecord(dir: string, generation: string): Promise<RecordLookup> {
  try {
    if (!(await privateDirExists(dir))) return { kind: 'none' };
  } catch (e) {
    return { kind: 'unusable', why: (e as Error).message };
  }
  const path = recordPath(dir, generation);
  let fh;
  try {
    fh = await open(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'none' };
    if (code === 'ELOOP') return { kind: 'damaged', path, why: 'it is a symbolic link' };
    return { kind: 'unusable', why: `cannot read ${path} (${code ?? (e as Error).message})` };
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return { kind: 'damaged', path, why: 'it is not a regular file' };
    if (st.size > MAX_RECORD_BYTES) return { kind: 'damaged', path, why: `it is ${st.size} bytes long` };
    const record = decodeRecord(await fh.readFile());
    if (record.generation !== generation) return { kind: 'damaged', path, why: `it is for generation ${record.generation}` };
    return { kind: 'found', path, record };
  } catch (e) {
    if (e instanceof DamagedRecordError) return { kind: 'damaged', path, why: e.message };
    return { kind: 'unusable', why: `cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  } finally {
    await fh.close().catch(() => {});
  }
}

/**
 * Removes the record of `generation` durably (and temporary files of it that a daemon killed while
 * writing one left behind). False when there was no record.
 */
export async function removeRecord(dir: string, generation: string): Promise<boolean> {
  if (!(await privateDirExists(dir))) return false;
  const leftovers = (await readdir(dir)).filter((n) => n.startsWith(`.${generation}.`) && n.endsWith('.tmp'));
  for (const n of leftovers) await unlink(join(dir, n)).catch(() => {});
  let removed = true;
  try {
    await unlink(recordPath(dir, generation));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    removed = false;
  }
  if (removed || leftovers.length > 0) await syncDirectory(dir);
  return removed;
}
