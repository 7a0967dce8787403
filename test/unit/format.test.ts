import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import {
  chooseHeader,
  CLUSTERS_PER_PAGE,
  decodeHeader,
  decodePage,
  decodeMetaPage,
  encodeMetaPage,
  ERA_PAGES_PER_BITMAP_PAGE,
  ERAS_PER_PAGE,
  eraIndexOffset,
  eraIndexPageCount,
  eraPagesOffset,
  encodeHeader,
  encodePage,
  FORMAT_VERSION,
  HEADER_SLOT_SIZE,
  isValidClusterSize,
  journalFileSize,
  JournalFormatError,
  MAX_PID,
  MAX_TIME_MS,
  PAGE_BITMAP_BYTES,
  PAGE_HEADER_SIZE,
  PAGE_SIZE,
  PAGES_OFFSET,
  pageCountFor,
  clusterCountFor,
  type JournalHeader,
} from '../../src/journal/format.js';

const SECTOR = 512;
const U64_MAX = 2n ** 64n - 1n;

/** Control characters, which header text fields never hold (the encoder replaces them). */
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;

/** A string of whole printable code points (astral included) whose UTF-8 fits in maxBytes. */
function utf8Arb(maxBytes: number): fc.Arbitrary<string> {
  return fc
    .oneof(fc.string({ unit: 'binary', maxLength: maxBytes + 8 }), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ maxLength: maxBytes + 8 }))
    .map((s) => {
      let out = '';
      let bytes = 0;
      for (const ch of s.replace(CONTROLS, '')) {
        const n = Buffer.byteLength(ch, 'utf8');
        if (bytes + n > maxBytes) break;
        out += ch;
        bytes += n;
      }
      return out;
    });
}

const generationArb = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('hex'));

const MAX_SEQUENCE = BigInt(Number.MAX_SAFE_INTEGER);
const timeArb = fc.integer({ min: 0, max: MAX_TIME_MS });

/** Any header this version writes: every field anywhere in its range. */
const headerArb: fc.Arbitrary<JournalHeader> = fc.record({
  version: fc.constant(FORMAT_VERSION),
  sequence: fc.bigInt({ min: 0n, max: MAX_SEQUENCE }),
  imageSize: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  clusterSize: fc.integer({ min: 12, max: 26 }).map((e) => 2 ** e),
  generation: generationArb,
  state: fc.constantFrom('clean', 'active', 'untrusted'),
  reason: utf8Arb(510),
  durability: fc.constantFrom('strict', 'ordered'),
  createdAt: timeArb,
  updatedAt: timeArb,
  imageMtimeNs: fc.bigInt({ min: 0n, max: U64_MAX }),
  bootId: fc.oneof(fc.constant(''), fc.uuid(), fc.string({ unit: fc.constantFrom(...'0123456789abcdef-'), maxLength: 40 })),
  pid: fc.integer({ min: 0, max: MAX_PID }),
  epoch: fc.integer({ min: 1, max: 2 ** 32 - 2 }),
  lastCheckpointAt: timeArb,
  generationAt: timeArb,
  imagePath: utf8Arb(2048),
  fsIdentity: fc.oneof(fc.constant(''), fc.bigInt({ min: 0n, max: U64_MAX }).chain((n) => fc.constantFrom(`unique:${n}`, `reused:${n}`))),
}, { noNullPrototype: true }).chain((h) => {
  const pages = pageCountFor(clusterCountFor(h.imageSize, h.clusterSize));
  return fc.record({
    bitmapPagesWritten: fc.integer({ min: 0, max: pages }),
    eraIndexPagesWritten: fc.integer({ min: 0, max: eraIndexPageCount(pages) }),
  }).map((counts) => ({ ...h, ...counts }));
});

function area(slot0: Buffer, slot1: Buffer): Buffer {
  return Buffer.concat([slot0, slot1]);
}

function sectorsThatDiffer(a: Buffer, b: Buffer): number[] {
  const out: number[] = [];
  for (let s = 0; s * SECTOR < a.length; s++) {
    if (!a.subarray(s * SECTOR, (s + 1) * SECTOR).equals(b.subarray(s * SECTOR, (s + 1) * SECTOR))) out.push(s);
  }
  return out;
}

type Corruption =
  | { kind: 'flip'; at: number; mask: number }
  | { kind: 'zero-sector'; pick: number }
  | { kind: 'other-version-sector'; other: JournalHeader; pick: number };

const corruptionArb: fc.Arbitrary<Corruption> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.integer({ min: 0, max: HEADER_SLOT_SIZE - 1 }), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('zero-sector' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('other-version-sector' as const), other: headerArb, pick: fc.nat() }),
);

/** Applies a corruption to a copy of an encoded slot; the result always differs from the input. */
function corrupt(slot: Buffer, c: Corruption, sequence: bigint): Buffer {
  const out = Buffer.from(slot);
  if (c.kind === 'flip') {
    out[c.at] = out[c.at]! ^ c.mask;
    return out;
  }
  // A torn write: one sector of the slot did not make it (zeros), or holds another version's bytes.
  const source = c.kind === 'zero-sector' ? Buffer.alloc(HEADER_SLOT_SIZE) : encodeHeader({ ...c.other, sequence: sequence > U64_MAX - 2n ? sequence - 2n : sequence + 2n });
  const candidates = sectorsThatDiffer(out, source);
  assert.ok(candidates.length > 0, 'sector 0 always differs (magic or checksum)');
  if (candidates.length === 1) {
    // The versions differ in one sector only: taking it would be a complete write of the other
    // version, not a torn one. Tear that sector instead (first half new, second half old).
    const s = candidates[0]!;
    source.copy(out, s * SECTOR, s * SECTOR, s * SECTOR + SECTOR / 2);
    if (out.equals(slot) || out.equals(source)) out.fill(0, s * SECTOR, (s + 1) * SECTOR);
    return out;
  }
  const s = candidates[c.pick % candidates.length]!;
  source.copy(out, s * SECTOR, s * SECTOR, (s + 1) * SECTOR);
  return out;
}

function expectFormatError(fn: () => unknown, kind?: JournalFormatError['kind']): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof JournalFormatError, `expected JournalFormatError, got ${String(e)}`);
    if (kind) assert.equal(e.kind, kind);
    return true;
  });
}

describe('header slots', () => {
  test('encodeHeader/decodeHeader round trip', () => {
    fc.assert(
      fc.property(headerArb, (h) => {
        const buf = encodeHeader(h);
        assert.equal(buf.length, HEADER_SLOT_SIZE);
        assert.deepEqual(decodeHeader(buf), h);
      }),
      { numRuns: 300 },
    );
  });

  test('a reason longer than 510 bytes is cut at a character boundary', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 140, maxLength: 400 }).map((s) => s.replace(CONTROLS, '')).filter((s) => Buffer.byteLength(s) > 510), headerArb, (reason, h) => {
        const got = decodeHeader(encodeHeader({ ...h, reason })).reason;
        assert.ok(Buffer.byteLength(got) <= 510);
        assert.ok(reason.startsWith(got), 'the stored reason is a prefix of the given one');
        // Nothing more than the one character that did not fit is dropped (unless it ends in U+FFFD,
        // which the cutter cannot tell from half a character).
        if (!got.endsWith('\uFFFD') && !reason.includes('\uFFFD')) assert.ok(Buffer.byteLength(got) > 510 - 4);
      }),
      { numRuns: 100 },
    );
  });

  test('the checksum is zlib crc32 of the slot with the checksum field (offset 12) zeroed', () => {
    fc.assert(
      fc.property(headerArb, (h) => {
        const buf = encodeHeader(h);
        const copy = Buffer.from(buf);
        copy.writeUInt32LE(0, 12);
        assert.equal(buf.readUInt32LE(12), crc32(copy));
      }),
      { numRuns: 50 },
    );
  });

  test('chooseHeader picks the valid slot with the highest sequence', () => {
    fc.assert(
      fc.property(headerArb, headerArb, (a, b) => {
        fc.pre(a.sequence !== b.sequence);
        const choice = chooseHeader(area(encodeHeader(a), encodeHeader(b)));
        assert.deepEqual(choice.header, a.sequence > b.sequence ? a : b);
        assert.deepEqual(choice.damaged, []);
      }),
      { numRuns: 100 },
    );
  });

  test('any corruption of a slot is detected and chooseHeader falls back to the other slot', () => {
    fc.assert(
      fc.property(headerArb, headerArb, corruptionArb, fc.integer({ min: 0, max: 1 }), (newer, older, c, slot) => {
        // The newer header is in `slot` and is the one damaged (a torn write of the newest header).
        const seq = older.sequence === MAX_SEQUENCE ? older.sequence - 1n : older.sequence;
        const o = { ...older, sequence: seq };
        const n = { ...newer, sequence: seq + 1n };
        const bad = corrupt(encodeHeader(n), c, n.sequence);
        expectFormatError(() => decodeHeader(bad));
        const slots = slot === 0 ? [bad, encodeHeader(o)] : [encodeHeader(o), bad];
        const choice = chooseHeader(area(slots[0]!, slots[1]!));
        assert.deepEqual(choice.header, o);
        assert.deepEqual(choice.damaged.map((d) => d.slot), [slot]);
        assert.ok(choice.damaged[0]!.error instanceof JournalFormatError);
      }),
      { numRuns: 300 },
    );
  });

  test('both slots bad: chooseHeader throws JournalFormatError', () => {
    fc.assert(
      fc.property(headerArb, corruptionArb, headerArb, corruptionArb, (a, ca, b, cb) => {
        expectFormatError(() => chooseHeader(area(corrupt(encodeHeader(a), ca, a.sequence), corrupt(encodeHeader(b), cb, b.sequence))));
      }),
      { numRuns: 100 },
    );
  });

  test('error kinds: bad magic, other version, out-of-range field, too short', () => {
    fc.assert(
      fc.property(headerArb, fc.integer({ min: FORMAT_VERSION + 1, max: 2 ** 32 - 1 }), (h, version) => {
        // Not a journal at all.
        expectFormatError(() => chooseHeader(Buffer.alloc(PAGES_OFFSET)), 'bad-magic');
        expectFormatError(() => chooseHeader(Buffer.alloc(PAGES_OFFSET, 0x41)), 'bad-magic');
        // A journal of another format version (its checksum is fine).
        const other = encodeHeader({ ...h, version });
        expectFormatError(() => decodeHeader(other), 'bad-version');
        expectFormatError(() => chooseHeader(area(other, other)), 'bad-version');
        // Another version beside a zeroed slot still reports the version, not "not a journal".
        expectFormatError(() => chooseHeader(area(Buffer.alloc(HEADER_SLOT_SIZE), other)), 'bad-version');
        // A slot of this version beside one of another version is used.
        assert.deepEqual(chooseHeader(area(other, encodeHeader(h))).header, h);
      }),
      { numRuns: 50 },
    );
    const h: JournalHeader = {
      version: 1, sequence: 5n, imageSize: 1 << 20, clusterSize: 65536, generation: '00'.repeat(16), state: 'clean', reason: '',
      durability: 'strict', createdAt: 1, updatedAt: 2, imageMtimeNs: 3n, bootId: '', pid: 0, imagePath: '',
      epoch: 1, lastCheckpointAt: 0, generationAt: 1, bitmapPagesWritten: 0, eraIndexPagesWritten: 0, fsIdentity: '',
    };
    // A field out of range under a correct checksum.
    const withField = (write: (b: Buffer) => void): Buffer => {
      const b = encodeHeader(h);
      write(b);
      b.writeUInt32LE(0, 12);
      b.writeUInt32LE(crc32(b), 12);
      return b;
    };
    expectFormatError(() => decodeHeader(withField((b) => b.writeUInt8(3, 36))), 'bad-field'); // state
    expectFormatError(() => decodeHeader(withField((b) => b.writeUInt8(2, 37))), 'bad-field'); // durability
    expectFormatError(() => decodeHeader(withField((b) => b.writeUInt32LE(3000, 32))), 'bad-field'); // cluster size
    expectFormatError(() => decodeHeader(withField((b) => b.writeBigUInt64LE(0n, 24))), 'bad-field'); // image size 0
    expectFormatError(() => decodeHeader(withField((b) => b.writeUInt16LE(511, 124))), 'bad-field'); // reason length
    expectFormatError(() => decodeHeader(withField((b) => b.writeUInt16LE(2049, 636))), 'bad-field'); // path length
    expectFormatError(() => decodeHeader(encodeHeader(h).subarray(0, HEADER_SLOT_SIZE - 1)), 'too-short');
    expectFormatError(() => chooseHeader(Buffer.alloc(0)), 'too-short');
  });

  test('fixed offsets of the version 1 header', () => {
    const h: JournalHeader = {
      version: 1, sequence: 0x0102030405060708n, imageSize: 0x123456789, clusterSize: 65536, generation: '0123456789abcdef0123456789abcdef',
      state: 'untrusted', reason: 'why', durability: 'ordered', createdAt: 1000, updatedAt: 2000, imageMtimeNs: 3000n,
      bootId: 'boot', pid: 4242, imagePath: '/p', epoch: 1, lastCheckpointAt: 0, generationAt: 1000, bitmapPagesWritten: 0, eraIndexPagesWritten: 0, fsIdentity: '',
    };
    const b = encodeHeader(h);
    assert.equal(b.toString('latin1', 0, 8), 'TRKFSJNL');
    assert.equal(b.readUInt32LE(8), 1);
    assert.equal(b.readBigUInt64LE(16), 0x0102030405060708n);
    assert.equal(b.readBigUInt64LE(24), 0x123456789n);
    assert.equal(b.readUInt32LE(32), 65536);
    assert.equal(b[36], 2); // untrusted
    assert.equal(b[37], 1); // ordered
    assert.equal(b.toString('hex', 40, 56), h.generation);
    assert.equal(b.readBigUInt64LE(56), 1000n);
    assert.equal(b.readBigUInt64LE(64), 2000n);
    assert.equal(b.readBigUInt64LE(72), 3000n);
    assert.equal(b.readUInt32LE(80), 4242);
    assert.equal(b.toString('latin1', 84, 124), 'boot'.padEnd(40, '\0'));
    assert.equal(b.readUInt16LE(124), 3);
    assert.equal(b.toString('utf8', 126, 129), 'why');
    assert.equal(b.readUInt16LE(636), 2);
    assert.equal(b.toString('utf8', 638, 640), '/p');
    assert.ok(b.subarray(638 + 2).every((x) => x === 0), 'the rest of the slot is zero');
  });

  test('version 3: the journal file system\'s identity at offset 2776, 64 bytes NUL padded; not in older versions', () => {
    const h: JournalHeader = {
      version: 3, sequence: 9n, imageSize: 1 << 20, clusterSize: 65536, generation: '00'.repeat(16), state: 'active', reason: '',
      durability: 'ordered', createdAt: 1, updatedAt: 2, imageMtimeNs: 0n, bootId: 'b', pid: 7, imagePath: '/i',
      epoch: 1, lastCheckpointAt: 0, generationAt: 1, bitmapPagesWritten: 0, eraIndexPagesWritten: 0, fsIdentity: 'unique:2147483676',
    };
    const b = encodeHeader(h);
    assert.equal(b.toString('latin1', 2776, 2776 + 64), 'unique:2147483676'.padEnd(64, '\0'));
    assert.ok(b.subarray(2776 + 64).every((x) => x === 0), 'nothing after the field');
    assert.deepEqual(decodeHeader(b), h);
    // Version 2 does not have it: not written, read as unknown.
    const v2 = encodeHeader({ ...h, version: 2 });
    assert.ok(v2.subarray(2776, 2776 + 64).every((x) => x === 0));
    assert.equal(decodeHeader(v2).fsIdentity, '');
    // Not printable: a bad field, under a correct checksum.
    const bad = Buffer.from(b);
    bad[2776] = 0x07;
    bad.writeUInt32LE(0, 12);
    bad.writeUInt32LE(crc32(bad), 12);
    expectFormatError(() => decodeHeader(bad), 'bad-field');
  });
});

/* --------------------------------------------------------------------- pages ---- */

const bitsArb = fc.oneof(
  fc.uint8Array({ minLength: PAGE_BITMAP_BYTES, maxLength: PAGE_BITMAP_BYTES }),
  // Sparse pages, like real ones.
  fc
    .array(fc.tuple(fc.integer({ min: 0, max: PAGE_BITMAP_BYTES - 1 }), fc.integer({ min: 1, max: 255 })), { maxLength: 20 })
    .map((sets) => {
      const b = new Uint8Array(PAGE_BITMAP_BYTES);
      for (const [i, v] of sets) b[i] = v;
      return b;
    }),
);

function page(index: number, generation: string, bits: Uint8Array | undefined): Buffer {
  return encodePage(Buffer.alloc(PAGE_SIZE, 0xee), index, generation, bits);
}

describe('bitmap pages', () => {
  test('encodePage/decodePage round trip', () => {
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 32 - 1 }), generationArb, bitsArb, (index, gen, bits) => {
        const copy = new Uint8Array(bits);
        const buf = page(index, gen, bits);
        assert.deepEqual(bits, copy, 'encodePage changed the caller\'s bits');
        assert.equal(buf.toString('latin1', 0, 4), 'TKPG');
        assert.equal(buf.readUInt32LE(8), index);
        assert.equal(buf.readUInt32LE(12), 0, 'epoch 0: a version 1 page');
        assert.equal(buf.toString('hex', 16, 32), gen);
        const d = decodePage(buf, index, gen);
        assert.equal(d.kind, 'valid');
        assert.deepEqual(d.kind === 'valid' ? d.bits : null, bits);
        // The bits are a copy: the decoded page does not alias the buffer.
        buf[PAGE_HEADER_SIZE] = buf[PAGE_HEADER_SIZE]! ^ 1;
        assert.deepEqual(d.kind === 'valid' ? d.bits : null, bits);
      }),
      { numRuns: 100 },
    );
  });

  test('a page without bits encodes an empty bitmap; checksum is crc32 with the field zeroed', () => {
    const gen = 'ab'.repeat(16);
    const buf = page(7, gen, undefined);
    const d = decodePage(buf, 7, gen);
    assert.equal(d.kind, 'valid');
    assert.ok(d.kind === 'valid' && d.bits.every((x) => x === 0));
    const copy = Buffer.from(buf);
    copy.writeUInt32LE(0, 4);
    assert.equal(buf.readUInt32LE(4), crc32(copy));
  });

  test('a torn page (sectors of two encodings) is damaged, never valid', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 100000 }),
        generationArb,
        fc.option(generationArb, { nil: undefined }),
        bitsArb,
        bitsArb,
        fc.boolean(),
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        (index, gen, otherGen, bitsA, bitsB, fromNothing, takeA) => {
          // The sectors of the new encoding that reached the disk, over the old encoding (or over a
          // never-written page, all zeros).
          const a = page(index, gen, bitsA);
          const b = fromNothing ? Buffer.alloc(PAGE_SIZE) : page(index, otherGen ?? gen, bitsB);
          const differ = sectorsThatDiffer(a, b);
          fc.pre(differ.length >= 2);
          const mix = Buffer.from(b);
          let fromA = differ.filter((s, i) => takeA[i % 8] && s >= 0);
          if (fromA.length === 0) fromA = [differ[0]!];
          if (fromA.length === differ.length) fromA = fromA.slice(1);
          for (const s of fromA) a.copy(mix, s * SECTOR, s * SECTOR, (s + 1) * SECTOR);
          assert.ok(!mix.equals(a) && !mix.equals(b));
          const d = decodePage(mix, index, gen);
          assert.equal(d.kind, 'damaged', `torn page decoded as ${d.kind}`);
        },
      ),
      { numRuns: 200 },
    );
  });

  test('any single flipped byte makes a page damaged', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 1000 }),
        generationArb,
        bitsArb,
        fc.integer({ min: 0, max: PAGE_SIZE - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (index, gen, bits, at, mask) => {
          const buf = page(index, gen, bits);
          buf[at] = buf[at]! ^ mask;
          assert.equal(decodePage(buf, index, gen).kind, 'damaged');
        },
      ),
      { numRuns: 200 },
    );
  });

  test('empty, stale and misplaced pages', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 100000 }),
        generationArb,
        generationArb,
        bitsArb,
        fc.integer({ min: 1, max: 1000 }),
        (index, gen, other, bits, shift) => {
          fc.pre(gen !== other);
          assert.deepEqual(decodePage(Buffer.alloc(PAGE_SIZE), index, gen), { kind: 'empty' });
          // A page of another generation: the bitmap was reset since it was written.
          assert.deepEqual(decodePage(page(index, other, bits), index, gen), { kind: 'stale' });
          // A valid page at the wrong position (misdirected write) is not trusted.
          assert.equal(decodePage(page(index + shift, gen, bits), index, gen).kind, 'damaged');
        },
      ),
      { numRuns: 100 },
    );
    // Short reads: zeros are a never-written tail, anything else is damage.
    assert.deepEqual(decodePage(Buffer.alloc(100), 0, '00'.repeat(16)), { kind: 'empty' });
    assert.equal(decodePage(page(0, '00'.repeat(16), undefined).subarray(0, 100), 0, '00'.repeat(16)).kind, 'damaged');
    // Garbage without the magic.
    assert.equal(decodePage(Buffer.alloc(PAGE_SIZE, 1), 0, '00'.repeat(16)).kind, 'damaged');
  });

  test('geometry constants', () => {
    assert.equal(PAGE_SIZE, 4096);
    assert.equal(PAGE_HEADER_SIZE, 32);
    assert.equal(CLUSTERS_PER_PAGE, 32512);
    assert.equal(PAGES_OFFSET, 8192);
    // 10 GiB + 12345 bytes at 64K: 163841 clusters, 6 pages.
    assert.equal(journalFileSize(10 * 2 ** 30 + 12345, 65536, 1), 8192 + 6 * 4096);
    assert.equal(journalFileSize(2 ** 40, 65536, 1), 8192 + 517 * 4096);
    assert.equal(journalFileSize(4096, 4096, 1), 8192 + 4096);
    // Version 2: then one era index page per 1016 bitmap pages, and 32 era pages per bitmap page.
    assert.equal(ERAS_PER_PAGE, 1016);
    assert.equal(ERA_PAGES_PER_BITMAP_PAGE, 32);
    assert.equal(journalFileSize(10 * 2 ** 30 + 12345, 65536), 8192 + 6 * 4096 + 4096 + 6 * 32 * 4096);
    assert.equal(journalFileSize(2 ** 40, 65536), 8192 + 517 * 4096 + 4096 + 517 * 32 * 4096);
    assert.equal(eraIndexOffset(6, 0), 8192 + 6 * 4096);
    assert.equal(eraPagesOffset(6, 1), 8192 + 7 * 4096 + 32 * 4096);
    assert.equal(eraIndexPageCount(1016), 1);
    assert.equal(eraIndexPageCount(1017), 2);
  });

  test('era and era index pages round trip, and tell empty, stale and damaged apart', () => {
    fc.assert(
      fc.property(fc.constantFrom('era' as const, 'era-index' as const), fc.nat({ max: 2 ** 32 - 1 }), generationArb, generationArb,
        fc.uint32Array({ minLength: 1016, maxLength: 1016 }), fc.nat({ max: 4095 }), (kind, index, gen, otherGen, entries, flip) => {
          fc.pre(gen !== otherGen);
          const buf = encodeMetaPage(Buffer.alloc(PAGE_SIZE), kind, index, gen, entries);
          assert.equal(buf.toString('latin1', 0, 4), kind === 'era' ? 'TKER' : 'TKEI');
          const d = decodeMetaPage(buf, kind, index, gen);
          assert.equal(d.kind, 'valid');
          assert.deepEqual(d.kind === 'valid' ? [...d.entries] : null, [...entries]);
          assert.equal(decodeMetaPage(buf, kind, index, otherGen).kind, 'stale');
          assert.equal(decodeMetaPage(buf, kind === 'era' ? 'era-index' : 'era', index, gen).kind, 'damaged');
          assert.equal(decodeMetaPage(Buffer.alloc(PAGE_SIZE), kind, index, gen).kind, 'empty');
          const torn = Buffer.from(buf);
          torn[flip] = torn[flip]! ^ 0x10;
          assert.equal(decodeMetaPage(torn, kind, index, gen).kind, 'damaged');
        }),
      { numRuns: 100 },
    );
  });

  test('bitmap pages carry their epoch; a version 1 page (epoch 0) reads as epoch 1', () => {
    const bits = new Uint8Array(PAGE_BITMAP_BYTES);
    bits[0] = 1;
    const gen = 'ab'.repeat(16);
    const v2 = encodePage(Buffer.alloc(PAGE_SIZE), 3, gen, bits, 7);
    assert.equal(v2.readUInt32LE(12), 7);
    const d2 = decodePage(v2, 3, gen);
    assert.equal(d2.kind === 'valid' ? d2.epoch : -1, 7);
    const d1 = decodePage(encodePage(Buffer.alloc(PAGE_SIZE), 3, gen, bits), 3, gen);
    assert.equal(d1.kind === 'valid' ? d1.epoch : -1, 1);
  });
});

describe('geometry', () => {
  test('isValidClusterSize: powers of two from 4K to 64M', () => {
    for (let e = 12; e <= 26; e++) assert.equal(isValidClusterSize(2 ** e), true, `2^${e}`);
    for (const n of [
      0,
      1,
      512,
      2048,
      4095,
      4097,
      12288,
      65535,
      65537,
      2 ** 27,
      3 * 2 ** 20,
      -4096,
      4096.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
    ]) {
      assert.equal(isValidClusterSize(n), false, String(n));
    }
  });
});
