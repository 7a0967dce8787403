/**
 * Damaged and crafted journal files for the fuzz kind, made from a real journal (`source`):
 *
 *   damage   what a disk, a careless `dd` or a crash can do: random bits flipped, a cut at any
 *            length, pages zeroed, sectors torn between two versions, a page written at the wrong
 *            place, garbage appended, random bytes. A journal judged trusted after damage must list
 *            at least what the source listed (the promise: never trusted with fewer changes).
 *   crafted  a header field set to an edge value under a correct checksum (what a hostile file
 *            says): trackfs must not crash, hang or print a stack, and a field out of range must be
 *            refused by name; what a forged header says is not held to the source's listing (a
 *            header can be forged to name another generation or a clean state; the checksum is
 *            against damage, not forgery).
 *   double   two independent damages at once: held to no listing (the format says what two faults
 *            can hide: the newest header lost with a page only it counted), only to robustness.
 *   random   bytes from nowhere, with or without a journal's magic.
 */
import { crc32 } from 'node:zlib';
import { HEADER_SLOT_SIZE, PAGE_SIZE, PAGES_OFFSET } from '../../../src/journal/format.js';

export type MutationClass = 'damage' | 'double-damage' | 'crafted' | 'random';

export interface Mutant {
  bytes: Buffer;
  /** What was done, for a failure's message. */
  what: string;
  cls: MutationClass;
  /** The damage can make a page read as never written (zeroed, cut off). */
  zeroes?: boolean;
}

type Rng = () => number;

const int = (rng: Rng, n: number) => Math.floor(rng() * n);

/** 4 KiB blocks of `b` that hold anything (written pages): damage is most telling there. */
function writtenBlocks(b: Buffer): number[] {
  const out: number[] = [];
  for (let at = 0; at < b.length; at += PAGE_SIZE) {
    const end = Math.min(b.length, at + PAGE_SIZE);
    for (let i = at; i < end; i++) {
      if (b[i] !== 0) {
        out.push(at / PAGE_SIZE);
        break;
      }
    }
  }
  return out;
}

/** Where damage lands: mostly in written blocks (headers, pages), sometimes anywhere. */
function anyOffset(rng: Rng, b: Buffer, written: number[]): number {
  if (written.length > 0 && rng() < 0.85) return written[int(rng, written.length)]! * PAGE_SIZE + int(rng, PAGE_SIZE);
  return int(rng, Math.max(1, b.length));
}

/** Header fields: offset, size in bytes (1, 2, 4, 8; or a byte string), name. */
const FIELDS: { at: number; size: number; name: string }[] = [
  { at: 8, size: 4, name: 'version' }, { at: 16, size: 8, name: 'sequence' }, { at: 24, size: 8, name: 'imageSize' },
  { at: 32, size: 4, name: 'clusterSize' }, { at: 36, size: 1, name: 'state' }, { at: 37, size: 1, name: 'durability' },
  { at: 56, size: 8, name: 'createdAt' }, { at: 64, size: 8, name: 'updatedAt' }, { at: 72, size: 8, name: 'imageMtimeNs' },
  { at: 80, size: 4, name: 'pid' }, { at: 124, size: 2, name: 'reasonLength' }, { at: 636, size: 2, name: 'imagePathLength' },
  { at: 2688, size: 4, name: 'epoch' }, { at: 2696, size: 8, name: 'lastCheckpointAt' }, { at: 2704, size: 8, name: 'generationAt' },
  { at: 2712, size: 4, name: 'bitmapPagesWritten' }, { at: 2716, size: 4, name: 'eraIndexPagesWritten' },
];

const EDGE_U64 = [0n, 1n, 2n, 3n, 4095n, 4096n, 65536n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 253_402_300_799_999n, 253_402_300_800_000n,
  8_640_000_000_000_000n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n];

/** Text a hostile header may carry where a path, a reason, a boot id or an identity goes. */
const HOSTILE_TEXT = [
  '--eval=process.exit(99)', '-e', 'relative/image.raw', '/dev/zero', '/proc/self/mem', '/', '\x1b[2Jtrusted yes', 'a\nb',
  '\u202etxt.exe', '../../etc/passwd', '/nonexistent/image', 'x'.repeat(2048), 'é'.repeat(300), '',
];

function withChecksum(slot: Buffer): void {
  slot.writeUInt32LE(0, 12);
  slot.writeUInt32LE(crc32(slot), 12);
}

/** The newer of the two header slots of `b` by sequence (raw, without validating). */
function newerSlot(b: Buffer): number {
  if (b.length < 2 * HEADER_SLOT_SIZE) return 0;
  return b.readBigUInt64LE(16) >= b.readBigUInt64LE(HEADER_SLOT_SIZE + 16) ? 0 : 1;
}

function crafted(source: Buffer, rng: Rng): Mutant {
  const b = Buffer.from(source);
  const slot = rng() < 0.8 ? newerSlot(b) : 1 - newerSlot(b);
  const s = b.subarray(slot * HEADER_SLOT_SIZE, (slot + 1) * HEADER_SLOT_SIZE);
  let what: string;
  const choice = int(rng, 10);
  if (choice < 6) {
    const f = FIELDS[int(rng, FIELDS.length)]!;
    const v = rng() < 0.7 ? EDGE_U64[int(rng, EDGE_U64.length)]! : BigInt(int(rng, 2 ** 31)) * BigInt(1 + int(rng, 2 ** 20));
    const max = (1n << BigInt(8 * f.size)) - 1n;
    const val = v & max;
    if (f.size === 8) s.writeBigUInt64LE(val, f.at);
    else if (f.size === 4) s.writeUInt32LE(Number(val), f.at);
    else if (f.size === 2) s.writeUInt16LE(Number(val), f.at);
    else s.writeUInt8(Number(val), f.at);
    what = `${f.name} = ${val}`;
  } else {
    const text = HOSTILE_TEXT[int(rng, HOSTILE_TEXT.length)]!;
    const raw = Buffer.from(text, 'utf8');
    const where = int(rng, 4);
    if (where === 0) {
      s.writeUInt16LE(Math.min(raw.length, 2048), 636);
      s.fill(0, 638, 638 + 2048);
      raw.copy(s, 638, 0, Math.min(raw.length, 2048));
      what = `imagePath = ${JSON.stringify(text.slice(0, 40))}`;
    } else if (where === 1) {
      s.writeUInt16LE(Math.min(raw.length, 510), 124);
      s.fill(0, 126, 126 + 510);
      raw.copy(s, 126, 0, Math.min(raw.length, 510));
      s.writeUInt8(2, 36); // untrusted, with that reason
      what = `reason = ${JSON.stringify(text.slice(0, 40))}`;
    } else if (where === 2) {
      s.fill(0, 84, 84 + 40);
      raw.copy(s, 84, 0, Math.min(raw.length, 40));
      what = `bootId = ${JSON.stringify(text.slice(0, 40))}`;
    } else {
      s.fill(0, 2776, 2776 + 64);
      raw.copy(s, 2776, 0, Math.min(raw.length, 64));
      what = `fsIdentity = ${JSON.stringify(text.slice(0, 40))}`;
    }
  }
  withChecksum(s);
  return { bytes: b, what: `crafted slot ${slot}: ${what}`, cls: 'crafted' };
}

function damaged(source: Buffer, rng: Rng): Mutant {
  const written = writtenBlocks(source);
  let b = Buffer.from(source);
  const choice = int(rng, 9);
  switch (choice) {
    case 0: {
      const n = 1 + int(rng, 8);
      const at: number[] = [];
      for (let i = 0; i < n; i++) {
        const o = anyOffset(rng, b, written);
        if (o < b.length) b[o]! ^= 1 << int(rng, 8);
        at.push(o);
      }
      return { bytes: b, what: `${n} bit(s) flipped at ${at.slice(0, 4).join(', ')}`, cls: 'damage' };
    }
    case 1: {
      // Cut: at a page boundary (a file system losing its tail) or anywhere.
      const len = rng() < 0.5 ? PAGE_SIZE * int(rng, Math.ceil(b.length / PAGE_SIZE) + 1) : int(rng, b.length + 1);
      return { bytes: b.subarray(0, Math.min(len, b.length)), what: `truncated to ${len} bytes`, cls: 'damage', zeroes: true };
    }
    case 2: {
      const n = 1 + int(rng, 3);
      const pages: number[] = [];
      for (let i = 0; i < n && written.length > 0; i++) {
        const p = rng() < 0.9 ? written[int(rng, written.length)]! : int(rng, Math.ceil(b.length / PAGE_SIZE));
        b.fill(0, p * PAGE_SIZE, Math.min(b.length, (p + 1) * PAGE_SIZE));
        pages.push(p);
      }
      // A header slot and a page zeroed together are two faults (the format's stated limit: the
      // newest header lost with a page only it counted): held to robustness only.
      const headerBlocks = PAGES_OFFSET / PAGE_SIZE;
      const two = pages.some((p) => p < headerBlocks) && pages.some((p) => p >= headerBlocks);
      return { bytes: b, what: `4 KiB block(s) ${pages.join(', ')} zeroed`, cls: two ? 'double-damage' : 'damage', zeroes: true };
    }
    case 3: {
      // A torn sector: one 512-byte sector of a written block replaced by zeros or garbage.
      const blk = written.length ? written[int(rng, written.length)]! : 0;
      const sector = blk * PAGE_SIZE + 512 * int(rng, 8);
      const garbage = rng() < 0.5;
      for (let i = sector; i < Math.min(b.length, sector + 512); i++) b[i] = garbage ? int(rng, 256) : 0;
      return { bytes: b, what: `sector at ${sector} ${garbage ? 'garbage' : 'zeroed'}`, cls: 'damage', zeroes: !garbage };
    }
    case 4: {
      // A misdirected write: a written page copied over another place.
      if (written.length < 2) return { bytes: b, what: 'unchanged (nothing to misdirect)', cls: 'damage' };
      const from = written[int(rng, written.length)]!;
      const to = rng() < 0.7 ? written[int(rng, written.length)]! : int(rng, Math.ceil(b.length / PAGE_SIZE));
      source.copy(b, to * PAGE_SIZE, from * PAGE_SIZE, Math.min(source.length, (from + 1) * PAGE_SIZE));
      return { bytes: b, what: `block ${from} written over block ${to}`, cls: 'damage' };
    }
    case 5: {
      // The newest header slot lost (zeroed, or torn against the older one).
      const slot = newerSlot(b);
      const at = slot * HEADER_SLOT_SIZE;
      if (rng() < 0.5) {
        // A file already cut short (the first of two damages) may end inside the slot.
        if (at < b.length) b.fill(0, at, Math.min(b.length, at + HEADER_SLOT_SIZE));
        return { bytes: b, what: `newest header slot ${slot} zeroed`, cls: 'damage', zeroes: true };
      }
      const other = (1 - slot) * HEADER_SLOT_SIZE;
      // `source` may itself be a mutant cut short (the first of two damages): a sector it does
      // not hold cannot tear into the newer slot.
      for (let s = 0; s < 8; s++) {
        if (rng() < 0.5 && other + s * 512 < source.length) source.copy(b, at + s * 512, other + s * 512, other + (s + 1) * 512);
      }
      return { bytes: b, what: `newest header slot ${slot} torn with the older one`, cls: 'damage' };
    }
    case 6: {
      const extra = Buffer.alloc(1 + int(rng, 3 * PAGE_SIZE));
      for (let i = 0; i < extra.length; i++) extra[i] = int(rng, 256);
      b = Buffer.concat([b, extra]);
      return { bytes: b, what: `${extra.length} garbage bytes appended`, cls: 'damage' };
    }
    case 7: {
      // Random bytes over a run of a page area (not the headers).
      const first = PAGES_OFFSET + int(rng, Math.max(1, b.length - PAGES_OFFSET));
      const len = 1 + int(rng, 2 * PAGE_SIZE);
      for (let i = first; i < Math.min(b.length, first + len); i++) b[i] = int(rng, 256);
      return { bytes: b, what: `${len} random bytes at ${first}`, cls: 'damage' };
    }
    default: {
      // Two things at once.
      const m1 = damaged(source, rng);
      const m2 = damaged(m1.bytes, rng);
      return { bytes: m2.bytes, what: `${m1.what}; then ${m2.what}`, cls: 'double-damage' };
    }
  }
}

function random(source: Buffer, rng: Rng): Mutant {
  const len = rng() < 0.3 ? int(rng, 2 * PAGE_SIZE) : int(rng, source.length + PAGE_SIZE);
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = int(rng, 256);
  if (len >= 8 && rng() < 0.5) {
    b.write('TRKFSJNL', 0, 'latin1');
    if (len >= HEADER_SLOT_SIZE && rng() < 0.5) withChecksum(b.subarray(0, HEADER_SLOT_SIZE));
  }
  return { bytes: b, what: `${len} random bytes`, cls: 'random' };
}

/** One mutant of `source`: mostly damage, some crafted fields, some random files. */
export function mutate(source: Buffer, rng: Rng): Mutant {
  const r = rng();
  if (r < 0.7) return damaged(source, rng);
  if (r < 0.93) return crafted(source, rng);
  return random(source, rng);
}
