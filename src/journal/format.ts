/**
 * On-disk layout of a trackfs journal, version 3 (versions 1 and 2 are read too). This file is the
 * contract; docs/journal-format.md describes the same bytes for people, and
 * test/fixtures/golden-v1.trackfs, golden-v2.trackfs and golden-v3.trackfs pin them.
 *
 *   offset 0      header slot A (4096 bytes)
 *   offset 4096   header slot B (4096 bytes)
 *   offset 8192   bitmap page 0, page 1, ... (4096 bytes each): the writes of one epoch each
 *   then          era index pages: per bitmap page, the newest epoch folded into its era pages
 *   then          era pages: per cluster, the last closed epoch it was written in (32 per bitmap page)
 *
 * Epochs (version 2): a checkpoint ends the current epoch. A bitmap page is tagged with the epoch
 * its bits belong to; a page of an older epoch still holds that epoch's bits until its first
 * rewrite, which first folds them into the era pages (era = max(era, epoch)). So the hot path stays
 * a bitmap, a checkpoint writes only the header, and history costs a fold per page per epoch.
 *
 * Header writes alternate between the two slots and carry a sequence number: a torn header write
 * damages only the slot being written, and the other slot still holds the previous state. The
 * newest slot whose checksum verifies wins.
 *
 * Each page carries its own checksum, its index and the generation it belongs to. A page of an
 * older generation is stale (the bitmap was reset since) and reads as empty; a page that does not
 * verify is torn or corrupt and is never read as valid.
 *
 * A page that was never written reads as zeros, and so does a page that was zeroed or cut off by a
 * truncation. Version 3 tells them apart: the file always has its full size (a shorter one was
 * truncated), and the header counts the bitmap and era index pages written in the current
 * generation, a lower bound of what is durably on disk; a reader that finds fewer knows pages were
 * lost.
 *
 * Only encode/decode functions here convert between bytes and the in-core types; nothing else
 * touches offsets.
 */
import { crc32 } from 'node:zlib';
import { ErrnoError } from '../util/errno.js';
import { randomBytes } from 'node:crypto';

export const FORMAT_VERSION = 3;
/**
 * Versions this trackfs reads. A version 1 journal is one epoch (1) with no history; versions 1
 * and 2 have no page counts (read as 0: nothing is known to be written).
 */
export const READABLE_VERSIONS: readonly number[] = [1, 2, 3];
export const HEADER_MAGIC = Buffer.from('TRKFSJNL', 'latin1');
export const PAGE_MAGIC = Buffer.from('TKPG', 'latin1');
export const ERA_MAGIC = Buffer.from('TKER', 'latin1');
export const ERA_INDEX_MAGIC = Buffer.from('TKEI', 'latin1');
export const HEADER_SLOT_SIZE = 4096;
export const HEADER_SLOT_COUNT = 2;
export const PAGE_SIZE = 4096;
export const PAGE_HEADER_SIZE = 32;
export const PAGE_BITMAP_BYTES = PAGE_SIZE - PAGE_HEADER_SIZE;
export const CLUSTERS_PER_PAGE = PAGE_BITMAP_BYTES * 8;
export const PAGES_OFFSET = HEADER_SLOT_SIZE * HEADER_SLOT_COUNT;
export const GENERATION_BYTES = 16;
/** u32 entries in an era page or an era index page (4064 / 4). */
export const ERAS_PER_PAGE = PAGE_BITMAP_BYTES / 4;
/** Era pages per bitmap page: 32 * 1016 = 32512 clusters, exactly one bitmap page's worth. */
export const ERA_PAGES_PER_BITMAP_PAGE = CLUSTERS_PER_PAGE / ERAS_PER_PAGE;

export const MIN_CLUSTER_SIZE = 4096;
export const MAX_CLUSTER_SIZE = 64 * 1024 * 1024;

const MAX_REASON_BYTES = 510;
const MAX_IMAGE_PATH_BYTES = 2048;
const BOOT_ID_BYTES = 40;
/** Header times end with the year 9999: every one can be shown as an ISO date of four digits. */
export const MAX_TIME_MS = 253_402_300_799_999;
/** Linux's PID_MAX_LIMIT (4194304); other systems stay far below. */
export const MAX_PID = 4_194_304;
/** Sequences stay exact as numbers; one header write per millisecond takes 285,000 years to reach it. */
const MAX_SEQUENCE = BigInt(Number.MAX_SAFE_INTEGER);
/** 8 PiB: sizes stay exact as numbers. */
const MAX_IMAGE_SIZE = BigInt(Number.MAX_SAFE_INTEGER);
const MAX_EPOCH = 0xffff_fffe;
/** C0 controls, DEL and C1 controls: what a terminal may act on rather than print. */
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;
const FS_IDENTITY_BYTES = 64;

export type JournalState = 'clean' | 'active' | 'untrusted';
export type Durability = 'strict' | 'ordered';

const STATE_CODES: readonly JournalState[] = ['clean', 'active', 'untrusted'];
const DURABILITY_CODES: readonly Durability[] = ['strict', 'ordered'];

/** In-core header. Times are milliseconds since the epoch; 0 means "never". */
export interface JournalHeader {
  version: number;
  /** Which write of the header this is; the newer valid slot wins. */
  sequence: bigint;
  imageSize: number;
  clusterSize: number;
  /** Random id, new whenever the bitmap is reset. Hex, 32 characters. */
  generation: string;
  state: JournalState;
  /** Why the journal is untrusted; empty otherwise. */
  reason: string;
  /** Mode in force while the journal was last active. */
  durability: Durability;
  createdAt: number;
  /** When the header last recorded a state change (activation, clean close, ...). */
  updatedAt: number;
  /** Image mtime (ns) and size recorded at the last clean close; 0n when unknown (block device). */
  imageMtimeNs: bigint;
  /** Identifies the boot during which the journal was last activated (ordered-mode recovery). */
  bootId: string;
  /** Daemon that activated the journal; lets readers tell a live journal from a crashed one. */
  pid: number;
  /** Informational: the image the journal was created for. */
  imagePath: string;
  /** The current epoch (>= 1). Checkpoint n ends epoch n; checkpoint 0 is the generation's start. */
  epoch: number;
  /** When the last checkpoint was taken; 0: none in this generation. */
  lastCheckpointAt: number;
  /** When the current generation began. */
  generationAt: number;
  /**
   * Version 3: bitmap pages written in the current generation (distinct pages), counted once
   * their writes are durable, so a lower bound of what is on disk. 0 in versions 1 and 2.
   */
  bitmapPagesWritten: number;
  /** Version 3: era index pages written in the current generation, counted the same way. */
  eraIndexPagesWritten: number;
  /**
   * Version 3: the mount of the journal's file system when the journal was last activated
   * (`unique:<n>`, `reused:<n>`; empty = unknown). Another one at recovery means the file system
   * was unmounted since, or its disk failed: its page cache, and what was not synced, is gone.
   */
  fsIdentity: string;
}

/** A journal's bytes are not a valid journal: EINVAL, with which check failed. */
export class JournalFormatError extends ErrnoError {
  constructor(
    readonly kind: 'bad-magic' | 'bad-checksum' | 'bad-version' | 'bad-field' | 'too-short',
    message: string,
    /** For bad-field: the header field that is out of range. */
    readonly field?: string,
  ) {
    super('EINVAL', message);
    this.name = 'JournalFormatError';
  }
}

export function newGeneration(): string {
  return randomBytes(GENERATION_BYTES).toString('hex');
}

export function pageCountFor(clusterCount: number): number {
  return Math.ceil(clusterCount / CLUSTERS_PER_PAGE);
}

export function clusterCountFor(imageSize: number, clusterSize: number): number {
  return Math.ceil(imageSize / clusterSize);
}

export function pageOffset(pageIndex: number): number {
  return PAGES_OFFSET + pageIndex * PAGE_SIZE;
}

export function eraIndexPageCount(pageCount: number): number {
  return Math.ceil(pageCount / ERAS_PER_PAGE);
}

/** Offset of era index page `q` in a journal of `pageCount` bitmap pages. */
export function eraIndexOffset(pageCount: number, q: number): number {
  return pageOffset(pageCount) + q * PAGE_SIZE;
}

/** Offset of the first of the era pages that belong to bitmap page `p`. */
export function eraPagesOffset(pageCount: number, p: number): number {
  return eraIndexOffset(pageCount, eraIndexPageCount(pageCount)) + p * ERA_PAGES_PER_BITMAP_PAGE * PAGE_SIZE;
}

/** Version 1 ends after the bitmap pages; versions 2 and 3 add the era index and the era pages. */
export function journalFileSize(imageSize: number, clusterSize: number, version = FORMAT_VERSION): number {
  const pages = pageCountFor(clusterCountFor(imageSize, clusterSize));
  return version === 1 ? pageOffset(pages) : eraPagesOffset(pages, pages);
}

/**
 * The size below which a journal file has been cut short. Version 3 journals are created at their
 * full size, and a header write restores it before anything else is written. Versions 1 and 2 are
 * only sure to hold their bitmap pages: a version 1 journal upgraded to 2 kept its version 1 size,
 * and its era pages were appended by the first fold.
 */
export function minimumFileSize(h: Pick<JournalHeader, 'version' | 'imageSize' | 'clusterSize'>): number {
  if (h.version >= 3) return journalFileSize(h.imageSize, h.clusterSize, h.version);
  return pageOffset(pageCountFor(clusterCountFor(h.imageSize, h.clusterSize)));
}

export function isValidClusterSize(n: number): boolean {
  return Number.isInteger(n) && n >= MIN_CLUSTER_SIZE && n <= MAX_CLUSTER_SIZE && (n & (n - 1)) === 0;
}

function checksum(buf: Buffer, crcOffset: number): number {
  // The checksum field itself reads as zero while the checksum is computed.
  const saved = buf.readUInt32LE(crcOffset);
  buf.writeUInt32LE(0, crcOffset);
  const sum = crc32(buf);
  buf.writeUInt32LE(saved, crcOffset);
  return sum;
}

/* ---------------------------------------------------------------- header slot ---- */
// Field offsets in a header slot (little-endian).
const H_MAGIC = 0; // 8 bytes
const H_VERSION = 8; // u32
const H_CRC = 12; // u32, crc32 of the slot with this field zeroed
const H_SEQUENCE = 16; // u64
const H_IMAGE_SIZE = 24; // u64
const H_CLUSTER_SIZE = 32; // u32
const H_STATE = 36; // u8
const H_DURABILITY = 37; // u8
const H_GENERATION = 40; // 16 bytes
const H_CREATED_AT = 56; // u64 ms
const H_UPDATED_AT = 64; // u64 ms
const H_IMAGE_MTIME_NS = 72; // u64 ns
const H_PID = 80; // u32
const H_BOOT_ID = 84; // 40 bytes ASCII, NUL padded
const H_REASON_LEN = 124; // u16
const H_REASON = 126; // up to 510 bytes UTF-8
const H_IMAGE_PATH_LEN = 636; // u16
const H_IMAGE_PATH = 638; // up to 2048 bytes UTF-8
// Version 2 and later; zero in version 1.
const H_EPOCH = 2688; // u32
const H_LAST_CHECKPOINT_AT = 2696; // u64 ms
const H_GENERATION_AT = 2704; // u64 ms
// Version 3 and later; zero before. 
const H_BITMAP_PAGES_WRITTEN = 2712; // u32
const H_ERA_INDEX_PAGES_WRITTEN = 2716; // u32
const H_FS_IDENTITY = 2776; // 64 bytes printable ASCII, NUL padded

function truncateUtf8(s: string, max: number): Buffer {
  let b = Buffer.from(s, 'utf8');
  if (b.length <= max) return b;
  b = b.subarray(0, max);
  // Do not leave half a multi-byte character at the end.
  return Buffer.from(b.toString('utf8').replace(/\uFFFD+$/, ''), 'utf8');
}

/**
 * Text a terminal prints as it is: control characters become U+FFFD. The decoder refuses them, so
 * the encoder must never write one (a reason can quote a path or an error message).
 */
function printable(s: string): string {
  return s.replace(new RegExp(CONTROL_CHARACTERS.source, 'g'), '\uFFFD');
}

/** Encodes a header slot. Text fields are made printable, so the decoder accepts what this writes. */
export function encodeHeader(h: JournalHeader): Buffer {
  const buf = Buffer.alloc(HEADER_SLOT_SIZE);
  HEADER_MAGIC.copy(buf, H_MAGIC);
  buf.writeUInt32LE(h.version, H_VERSION);
  buf.writeBigUInt64LE(h.sequence, H_SEQUENCE);
  buf.writeBigUInt64LE(BigInt(h.imageSize), H_IMAGE_SIZE);
  buf.writeUInt32LE(h.clusterSize, H_CLUSTER_SIZE);
  buf.writeUInt8(STATE_CODES.indexOf(h.state), H_STATE);
  buf.writeUInt8(DURABILITY_CODES.indexOf(h.durability), H_DURABILITY);
  Buffer.from(h.generation, 'hex').copy(buf, H_GENERATION, 0, GENERATION_BYTES);
  buf.writeBigUInt64LE(BigInt(h.createdAt), H_CREATED_AT);
  buf.writeBigUInt64LE(BigInt(h.updatedAt), H_UPDATED_AT);
  buf.writeBigUInt64LE(h.imageMtimeNs, H_IMAGE_MTIME_NS);
  buf.writeUInt32LE(h.pid >>> 0, H_PID);
  // A boot id that is not printable ASCII is stored as unknown (which ordered mode treats as a
  // restart); an image path with control characters as none (it is informational).
  const bootId = h.bootId.slice(0, BOOT_ID_BYTES);
  if (/^[\x21-\x7e]*$/.test(bootId)) buf.write(bootId, H_BOOT_ID, BOOT_ID_BYTES, 'latin1');
  const reason = truncateUtf8(printable(h.reason), MAX_REASON_BYTES);
  buf.writeUInt16LE(reason.length, H_REASON_LEN);
  reason.copy(buf, H_REASON);
  const imagePath = truncateUtf8(CONTROL_CHARACTERS.test(h.imagePath) ? '' : h.imagePath, MAX_IMAGE_PATH_BYTES);
  buf.writeUInt16LE(imagePath.length, H_IMAGE_PATH_LEN);
  imagePath.copy(buf, H_IMAGE_PATH);
  if (h.version >= 2) {
    buf.writeUInt32LE(h.epoch, H_EPOCH);
    buf.writeBigUInt64LE(BigInt(h.lastCheckpointAt), H_LAST_CHECKPOINT_AT);
    buf.writeBigUInt64LE(BigInt(h.generationAt), H_GENERATION_AT);
  }
  if (h.version >= 3) {
    buf.writeUInt32LE(h.bitmapPagesWritten, H_BITMAP_PAGES_WRITTEN);
    buf.writeUInt32LE(h.eraIndexPagesWritten, H_ERA_INDEX_PAGES_WRITTEN);
    // `?? ''`: callers outside TypeScript (scripts/make-golden.mjs) may leave the field out.
    buf.write((h.fsIdentity ?? '').slice(0, FS_IDENTITY_BYTES), H_FS_IDENTITY, FS_IDENTITY_BYTES, 'latin1');
  }
  buf.writeUInt32LE(checksum(buf, H_CRC), H_CRC);
  return buf;
}

/* Field checks of the decoder: each failure names its field. */

function badField(field: string, problem: string): JournalFormatError {
  return new JournalFormatError('bad-field', `header field ${field} ${problem}`, field);
}

function u64Within(slot: Buffer, at: number, field: string, max: bigint, min = 0n): bigint {
  const v = slot.readBigUInt64LE(at);
  if (v < min || v > max) throw badField(field, `is out of range (${v}; must be ${min} to ${max})`);
  return v;
}

function timeField(slot: Buffer, at: number, field: string): number {
  return Number(u64Within(slot, at, field, BigInt(MAX_TIME_MS)));
}

function u32Within(slot: Buffer, at: number, field: string, min: number, max: number): number {
  const v = slot.readUInt32LE(at);
  if (v < min || v > max) throw badField(field, `is out of range (${v}; must be ${min} to ${max})`);
  return v;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A length-prefixed UTF-8 field: valid UTF-8, no control characters. */
function textField(slot: Buffer, lenAt: number, at: number, max: number, field: string): string {
  const len = slot.readUInt16LE(lenAt);
  if (len > max) throw badField(field, `is too long (${len} bytes; at most ${max})`);
  let text: string;
  try {
    text = utf8.decode(slot.subarray(at, at + len));
  } catch {
    throw badField(field, 'is not UTF-8');
  }
  if (CONTROL_CHARACTERS.test(text)) throw badField(field, 'holds control characters');
  return text;
}

/** The boot id: printable ASCII, then NUL padding only. */
/** A fixed-size field of printable ASCII padded with NULs (the boot id, the file system's identity). */
function asciiField(slot: Buffer, offset: number, size: number, field: string): string {
  const raw = slot.subarray(offset, offset + size);
  const end = raw.indexOf(0) < 0 ? size : raw.indexOf(0);
  for (let i = 0; i < size; i++) {
    const b = raw[i]!;
    if (i < end ? b < 0x21 || b > 0x7e : b !== 0) throw badField(field, 'is not printable ASCII padded with NULs');
  }
  return raw.toString('latin1', 0, end);
}

/** Decodes one header slot; throws JournalFormatError naming what is wrong. */
export function decodeHeader(buf: Buffer): JournalHeader {
  if (buf.length < HEADER_SLOT_SIZE) throw new JournalFormatError('too-short', 'header slot is truncated');
  const slot = Buffer.from(buf.subarray(0, HEADER_SLOT_SIZE));
  if (!slot.subarray(H_MAGIC, H_MAGIC + 8).equals(HEADER_MAGIC)) {
    throw new JournalFormatError('bad-magic', 'not a trackfs journal (bad magic)');
  }
  if (slot.readUInt32LE(H_CRC) !== checksum(slot, H_CRC)) {
    throw new JournalFormatError('bad-checksum', 'header checksum mismatch (torn or corrupt)');
  }
  const version = slot.readUInt32LE(H_VERSION);
  if (!READABLE_VERSIONS.includes(version)) {
    throw new JournalFormatError('bad-version', `unsupported journal format version ${version} (this trackfs reads versions ${READABLE_VERSIONS.join(', ')})`);
  }
  // Every field is checked here, once: nothing downstream (display, recovery, sizing the work of a
  // load) meets a value it cannot handle.
  const sequence = u64Within(slot, H_SEQUENCE, 'sequence', MAX_SEQUENCE);
  const imageSize = Number(u64Within(slot, H_IMAGE_SIZE, 'imageSize', MAX_IMAGE_SIZE, 1n));
  const clusterSize = slot.readUInt32LE(H_CLUSTER_SIZE);
  if (!isValidClusterSize(clusterSize)) throw badField('clusterSize', `is not a power of two from ${MIN_CLUSTER_SIZE} to ${MAX_CLUSTER_SIZE} (${clusterSize})`);
  const state = STATE_CODES[slot.readUInt8(H_STATE)];
  if (!state) throw badField('state', `is out of range (${slot.readUInt8(H_STATE)}; must be 0 to 2)`);
  const durability = DURABILITY_CODES[slot.readUInt8(H_DURABILITY)];
  if (!durability) throw badField('durability', `is out of range (${slot.readUInt8(H_DURABILITY)}; must be 0 or 1)`);
  const createdAt = timeField(slot, H_CREATED_AT, 'createdAt');
  const updatedAt = timeField(slot, H_UPDATED_AT, 'updatedAt');
  // imageMtimeNs is only compared with the image's mtime, never shown: any value is one.
  const pid = u32Within(slot, H_PID, 'pid', 0, MAX_PID);
  const bootId = asciiField(slot, H_BOOT_ID, BOOT_ID_BYTES, 'bootId');
  const reason = textField(slot, H_REASON_LEN, H_REASON, MAX_REASON_BYTES, 'reason');
  const imagePath = textField(slot, H_IMAGE_PATH_LEN, H_IMAGE_PATH, MAX_IMAGE_PATH_BYTES, 'imagePath');
  const epoch = version >= 2 ? u32Within(slot, H_EPOCH, 'epoch', 1, MAX_EPOCH) : 1;
  const lastCheckpointAt = version >= 2 ? timeField(slot, H_LAST_CHECKPOINT_AT, 'lastCheckpointAt') : 0;
  const generationAt = version >= 2 ? timeField(slot, H_GENERATION_AT, 'generationAt') : createdAt;
  const pages = pageCountFor(clusterCountFor(imageSize, clusterSize));
  const bitmapPagesWritten = version >= 3 ? u32Within(slot, H_BITMAP_PAGES_WRITTEN, 'bitmapPagesWritten', 0, pages) : 0;
  const eraIndexPagesWritten = version >= 3 ? u32Within(slot, H_ERA_INDEX_PAGES_WRITTEN, 'eraIndexPagesWritten', 0, eraIndexPageCount(pages)) : 0;
  const fsIdentity = version >= 3 ? asciiField(slot, H_FS_IDENTITY, FS_IDENTITY_BYTES, 'fsIdentity') : '';
  return {
    version,
    sequence,
    imageSize,
    clusterSize,
    generation: slot.subarray(H_GENERATION, H_GENERATION + GENERATION_BYTES).toString('hex'),
    state,
    durability,
    reason,
    createdAt,
    updatedAt,
    imageMtimeNs: slot.readBigUInt64LE(H_IMAGE_MTIME_NS),
    pid,
    bootId,
    imagePath,
    epoch,
    lastCheckpointAt,
    generationAt,
    bitmapPagesWritten,
    eraIndexPagesWritten,
    fsIdentity,
  };
}

export function headerSlotFor(sequence: bigint): number {
  return Number(sequence % BigInt(HEADER_SLOT_COUNT));
}

export interface HeaderChoice {
  header: JournalHeader;
  /** Slots that did not verify, with why; a torn slot beside a good one is expected after a crash. */
  damaged: { slot: number; error: JournalFormatError }[];
}

/**
 * Picks the newest slot that verifies from the first PAGES_OFFSET bytes of a journal. Throws the
 * most telling error when no slot verifies.
 */
export function chooseHeader(headerArea: Buffer): HeaderChoice {
  const damaged: HeaderChoice['damaged'] = [];
  let best: JournalHeader | undefined;
  for (let slot = 0; slot < HEADER_SLOT_COUNT; slot++) {
    const start = slot * HEADER_SLOT_SIZE;
    try {
      const h = decodeHeader(headerArea.subarray(start, start + HEADER_SLOT_SIZE));
      if (!best || h.sequence > best.sequence) best = h;
    } catch (e) {
      if (!(e instanceof JournalFormatError)) throw e;
      damaged.push({ slot, error: e });
    }
  }
  if (best) return { header: best, damaged };
  // Report "not a journal" only when neither slot even looks like one.
  const order = ['bad-version', 'bad-checksum', 'bad-field', 'too-short', 'bad-magic'];
  damaged.sort((a, b) => order.indexOf(a.error.kind) - order.indexOf(b.error.kind));
  throw damaged[0]?.error ?? new JournalFormatError('too-short', 'journal is empty');
}

/* ---------------------------------------------------------------------- pages ---- */
const P_MAGIC = 0; // 4 bytes
const P_CRC = 4; // u32, crc32 of the page with this field zeroed
const P_INDEX = 8; // u32
const P_EPOCH = 12; // u32: bitmap pages, the epoch of the bits (0 in version 1, read as 1); zero in era pages
const P_GENERATION = 16; // 16 bytes
// bitmap (or u32 entries) from PAGE_HEADER_SIZE

/**
 * Encodes a bitmap page into `out` (PAGE_SIZE bytes), copying the bits: the caller's bitmap stays
 * live. `epoch` 0 writes a version 1 page.
 */
export function encodePage(out: Buffer, index: number, generation: string, bits: Uint8Array | undefined, epoch = 0): Buffer {
  out.fill(0, 0, PAGE_HEADER_SIZE);
  PAGE_MAGIC.copy(out, P_MAGIC);
  out.writeUInt32LE(index, P_INDEX);
  out.writeUInt32LE(epoch, P_EPOCH);
  out.write(generation, P_GENERATION, GENERATION_BYTES, 'hex');
  if (bits) out.set(bits.subarray(0, PAGE_BITMAP_BYTES), PAGE_HEADER_SIZE);
  else out.fill(0, PAGE_HEADER_SIZE);
  out.writeUInt32LE(crc32(out), P_CRC);
  return out;
}

export type DecodedPage =
  | { kind: 'empty' }
  | { kind: 'valid'; bits: Uint8Array; epoch: number }
  | { kind: 'stale' }
  | { kind: 'damaged'; why: string };

function isAllZero(buf: Uint8Array): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * Decodes the page at `index`. A never-written page is all zero (the file is sparse); a page of
 * another generation is stale; anything else that does not verify is damaged.
 */
export function decodePage(buf: Buffer, index: number, generation: string): DecodedPage {
  if (buf.length < PAGE_SIZE) return isAllZero(buf) ? { kind: 'empty' } : { kind: 'damaged', why: 'truncated' };
  const page = buf.subarray(0, PAGE_SIZE);
  if (!page.subarray(P_MAGIC, P_MAGIC + 4).equals(PAGE_MAGIC)) {
    return isAllZero(page) ? { kind: 'empty' } : { kind: 'damaged', why: 'bad magic' };
  }
  if (page.readUInt32LE(P_CRC) !== checksum(Buffer.from(page), P_CRC)) return { kind: 'damaged', why: 'checksum mismatch' };
  if (page.readUInt32LE(P_INDEX) !== index) return { kind: 'damaged', why: `page index ${page.readUInt32LE(P_INDEX)} at position ${index}` };
  if (page.toString('hex', P_GENERATION, P_GENERATION + GENERATION_BYTES) !== generation) return { kind: 'stale' };
  return { kind: 'valid', bits: new Uint8Array(page.subarray(PAGE_HEADER_SIZE)), epoch: page.readUInt32LE(P_EPOCH) || 1 };
}

/* ------------------------------------------------------- era and era index pages ---- */
// Same 32-byte header as a bitmap page (epoch field zero), then ERAS_PER_PAGE u32 entries.

export type MetaKind = 'era' | 'era-index';

function metaMagic(kind: MetaKind): Buffer {
  return kind === 'era' ? ERA_MAGIC : ERA_INDEX_MAGIC;
}

/** Encodes an era page (entries: the era of each of its clusters) or an era index page. */
export function encodeMetaPage(out: Buffer, kind: MetaKind, index: number, generation: string, entries: Uint32Array): Buffer {
  out.fill(0, 0, PAGE_HEADER_SIZE);
  metaMagic(kind).copy(out, P_MAGIC);
  out.writeUInt32LE(index, P_INDEX);
  out.write(generation, P_GENERATION, GENERATION_BYTES, 'hex');
  for (let i = 0; i < ERAS_PER_PAGE; i++) out.writeUInt32LE(entries[i] ?? 0, PAGE_HEADER_SIZE + 4 * i);
  out.writeUInt32LE(crc32(out.subarray(0, PAGE_SIZE)), P_CRC);
  return out;
}

export type DecodedMetaPage =
  | { kind: 'empty' }
  | { kind: 'valid'; entries: Uint32Array }
  | { kind: 'stale' }
  | { kind: 'damaged'; why: string };

/** Decodes an era or era index page; the same four outcomes as a bitmap page. */
export function decodeMetaPage(buf: Buffer, kind: MetaKind, index: number, generation: string): DecodedMetaPage {
  if (buf.length < PAGE_SIZE) return isAllZero(buf) ? { kind: 'empty' } : { kind: 'damaged', why: 'truncated' };
  const page = buf.subarray(0, PAGE_SIZE);
  if (!page.subarray(P_MAGIC, P_MAGIC + 4).equals(metaMagic(kind))) {
    return isAllZero(page) ? { kind: 'empty' } : { kind: 'damaged', why: 'bad magic' };
  }
  if (page.readUInt32LE(P_CRC) !== checksum(Buffer.from(page), P_CRC)) return { kind: 'damaged', why: 'checksum mismatch' };
  if (page.readUInt32LE(P_INDEX) !== index) return { kind: 'damaged', why: `page index ${page.readUInt32LE(P_INDEX)} at position ${index}` };
  if (page.toString('hex', P_GENERATION, P_GENERATION + GENERATION_BYTES) !== generation) return { kind: 'stale' };
  const entries = new Uint32Array(ERAS_PER_PAGE);
  for (let i = 0; i < ERAS_PER_PAGE; i++) entries[i] = page.readUInt32LE(PAGE_HEADER_SIZE + 4 * i);
  return { kind: 'valid', entries };
}
