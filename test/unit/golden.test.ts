/**
 * The committed golden journal (test/fixtures/golden-v1.trackfs, made by scripts/make-golden.mjs)
 * pins format version 1: this trackfs must read it exactly, and must encode the same bytes. If a
 * test here fails, the on-disk format changed: that needs a new format version, not a new golden
 * file.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { Journal, type LoadReport } from '../../src/journal/journal.js';
import { FileJournalIo } from '../../src/journal/journal-io.js';
import { extentsOf } from '../../src/journal/changes.js';
import { assessJournal } from '../../src/journal/recovery.js';
import {
  CLUSTERS_PER_PAGE,
  decodeHeader,
  decodePage,
  encodeHeader,
  encodePage,
  HEADER_SLOT_SIZE,
  journalFileSize,
  PAGE_SIZE,
  pageOffset,
} from '../../src/journal/format.js';

// dist/test/unit -> repository root
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const GOLDEN = `${ROOT}test/fixtures/golden-v1.trackfs`;

const GIB = 1024 ** 3;
const KIB64 = 65536;
const IMAGE_SIZE = 10 * GIB + 12345;
const CLUSTERS = 163841;
const GENERATION = '0123456789abcdef0123456789abcdef';
const CHANGED = [0, 1, 2, 100, 32511, 32512, 40000, 40001, 40002, 40003, 40004, 40005, 40006, 40007, 40008, 40009, 163840];

describe('golden journal, format version 1', () => {
  let raw: Buffer;
  let journal: Journal;
  let report: LoadReport;

  before(async () => {
    raw = readFileSync(GOLDEN);
    const io = await FileJournalIo.open(GOLDEN, { create: false, readOnly: true });
    ({ journal, report } = await Journal.load(io));
  });

  after(async () => {
    await journal?.abandon();
  });

  test('the file is the committed one', () => {
    assert.equal(raw.length, 32768);
    assert.equal(raw.length, journalFileSize(IMAGE_SIZE, KIB64, 1));
    assert.equal(createHash('sha256').update(raw).digest('hex'), '0e5a6f840769a6bd34182e118e413fc4f661b2e0aadf2398a390dd5cb0ea1c5c');
  });

  test('raw bytes at fixed offsets', () => {
    // Header slot 0 (sequence 4, the newest).
    assert.equal(raw.toString('latin1', 0, 8), 'TRKFSJNL');
    assert.equal(raw.readUInt32LE(8), 1); // format version
    assert.equal(raw.readUInt32LE(12), 0xa3ab55a6); // checksum
    assert.equal(raw.readBigUInt64LE(16), 4n); // sequence
    assert.equal(raw.readBigUInt64LE(24), BigInt(IMAGE_SIZE));
    assert.equal(raw.readUInt32LE(32), KIB64);
    assert.equal(raw[36], 0); // state: clean
    assert.equal(raw[37], 1); // durability: ordered
    assert.equal(raw.readUInt16LE(38), 0); // reserved
    assert.equal(raw.toString('hex', 40, 56), GENERATION);
    assert.equal(raw.readBigUInt64LE(56), 1_700_000_000_000n);
    assert.equal(raw.readBigUInt64LE(64), 1_700_000_360_000n);
    assert.equal(raw.readBigUInt64LE(72), 1_700_000_359_123_456_789n);
    assert.equal(raw.readUInt32LE(80), 0); // pid
    assert.equal(raw.toString('latin1', 84, 124), '6f1c2a9e-0d44-4b7e-9a51-2a3c7e5d9b10\0\0\0\0');
    assert.equal(raw.readUInt16LE(124), 0); // reason length
    assert.equal(raw.readUInt16LE(636), 18); // image path length
    assert.equal(raw.toString('utf8', 638, 656), '/images/golden.img');
    // Header slot 1 (sequence 3).
    assert.equal(raw.toString('latin1', HEADER_SLOT_SIZE, HEADER_SLOT_SIZE + 8), 'TRKFSJNL');
    assert.equal(raw.readUInt32LE(HEADER_SLOT_SIZE + 12), 0x312639c4);
    assert.equal(raw.readBigUInt64LE(HEADER_SLOT_SIZE + 16), 3n);
    // Page 0 at 8192.
    assert.equal(raw.toString('latin1', 8192, 8196), 'TKPG');
    assert.equal(raw.readUInt32LE(8196), 0xd96475c7);
    assert.equal(raw.readUInt32LE(8200), 0); // page index
    assert.equal(raw.readUInt32LE(8204), 0); // reserved
    assert.equal(raw.toString('hex', 8208, 8224), GENERATION);
    assert.equal(raw[8224], 0b0000_0111); // clusters 0, 1, 2: least significant bit first
    assert.equal(raw[8224 + 12], 0b0001_0000); // cluster 100 = byte 12, bit 4
    assert.equal(raw[8224 + 4063], 0b1000_0000); // cluster 32511, the last bit of page 0
    // Page 1 at 12288.
    assert.equal(raw.readUInt32LE(12288 + 8), 1);
    assert.equal(raw[12288 + 32], 0b0000_0001); // cluster 32512
    // Page 5 (the last) holds cluster 163840 = 5 * 32512 + 1280: byte 160, bit 0.
    assert.equal(raw.readUInt32LE(pageOffset(5) + 8), 5);
    assert.equal(raw[pageOffset(5) + 32 + 160], 1);
    // Pages 2 and 4 were never written.
    assert.ok(raw.subarray(pageOffset(2), pageOffset(3)).every((b) => b === 0));
    assert.ok(raw.subarray(pageOffset(4), pageOffset(5)).every((b) => b === 0));
    // Page 3 belongs to an older generation.
    assert.equal(raw.toString('hex', pageOffset(3) + 16, pageOffset(3) + 32), 'fedcba9876543210fedcba9876543210');
  });

  test('checksums are zlib crc32 with the checksum field zeroed', () => {
    const slot = Buffer.from(raw.subarray(0, HEADER_SLOT_SIZE));
    slot.writeUInt32LE(0, 12);
    assert.equal(crc32(slot), raw.readUInt32LE(12));
    for (const p of [0, 1, 3, 5]) {
      const page = Buffer.from(raw.subarray(pageOffset(p), pageOffset(p) + PAGE_SIZE));
      page.writeUInt32LE(0, 4);
      assert.equal(crc32(page), raw.readUInt32LE(pageOffset(p) + 4), `page ${p}`);
    }
  });

  test('header: the newest slot, exactly', () => {
    assert.deepEqual(report, { damagedHeaderSlots: [], damagedPages: [], damagedHistoryPages: [], missingPages: 0, lostPages: 0 });
    assert.deepEqual(journal.headerSnapshot(), {
      version: 1,
      sequence: 4n,
      imageSize: IMAGE_SIZE,
      clusterSize: KIB64,
      generation: GENERATION,
      state: 'clean',
      reason: '',
      durability: 'ordered',
      createdAt: 1_700_000_000_000,
      updatedAt: 1_700_000_360_000,
      imageMtimeNs: 1_700_000_359_123_456_789n,
      bootId: '6f1c2a9e-0d44-4b7e-9a51-2a3c7e5d9b10',
      pid: 0,
      imagePath: '/images/golden.img',
      // Version 1 has no epochs: one epoch, no checkpoint, the generation began with the journal.
      epoch: 1,
      lastCheckpointAt: 0,
      generationAt: 1_700_000_000_000,
      // Nor page counts (version 3): none is known to be written, which can be no more than is.
      bitmapPagesWritten: 0,
      eraIndexPagesWritten: 0,
      // Before version 3 the journal's file system was not identified.
      fsIdentity: '',
    });
    const older = decodeHeader(raw.subarray(HEADER_SLOT_SIZE, 2 * HEADER_SLOT_SIZE));
    assert.equal(older.sequence, 3n);
    assert.equal(older.state, 'active');
    assert.equal(older.pid, 4242);
  });

  test('changed clusters and extents, exactly', () => {
    assert.equal(journal.clusterCount, CLUSTERS);
    assert.equal(journal.cache.marked.pageCount, 6);
    const set: number[] = [];
    for (const r of journal.cache.recorded.runs()) for (let c = r.start; c < r.start + r.count; c++) set.push(c);
    assert.deepEqual(set, CHANGED);
    assert.equal(journal.cache.recorded.countSet(), 17);
    assert.deepEqual(extentsOf(journal.cache.recorded, KIB64, IMAGE_SIZE), [
      { offset: 0, length: 3 * KIB64 },
      { offset: 100 * KIB64, length: KIB64 },
      { offset: 32511 * KIB64, length: 2 * KIB64 }, // across the page 0 / page 1 boundary
      { offset: 40000 * KIB64, length: 10 * KIB64 },
      { offset: 10 * GIB, length: 12345 }, // the last cluster, clipped to the image
    ]);
  });

  test('page kinds: valid, empty, stale', () => {
    const kinds = Array.from(
      { length: 6 },
      (_, p) => decodePage(raw.subarray(pageOffset(p), pageOffset(p) + PAGE_SIZE), p, GENERATION).kind,
    );
    assert.deepEqual(kinds, ['valid', 'valid', 'empty', 'stale', 'empty', 'valid']);
    // Version 1 pages have no epoch (zero), which reads as epoch 1, the journal's only one.
    const d0 = decodePage(raw.subarray(pageOffset(0), pageOffset(0) + PAGE_SIZE), 0, GENERATION);
    assert.equal(d0.kind === 'valid' ? d0.epoch : -1, 1);
    // Nothing of the stale page was loaded.
    assert.equal(journal.cache.recorded.test(3 * CLUSTERS_PER_PAGE), false);
  });

  test('this trackfs encodes the same bytes', () => {
    for (let slot = 0; slot < 2; slot++) {
      const bytes = raw.subarray(slot * HEADER_SLOT_SIZE, (slot + 1) * HEADER_SLOT_SIZE);
      assert.ok(encodeHeader(decodeHeader(bytes)).equals(bytes), `header slot ${slot}`);
    }
    for (const p of [0, 1, 5]) {
      const bytes = raw.subarray(pageOffset(p), pageOffset(p) + PAGE_SIZE);
      const d = decodePage(bytes, p, GENERATION);
      assert.equal(d.kind, 'valid');
      assert.ok(encodePage(Buffer.alloc(PAGE_SIZE), p, GENERATION, d.kind === 'valid' ? d.bits : undefined).equals(bytes), `page ${p}`);
    }
  });

  test('recovery: trusted when the image is as it was left', () => {
    const h = journal.headerSnapshot();
    const same = assessJournal(h, report, 'another-boot', { mtimeNs: 1_700_000_359_123_456_789n, size: IMAGE_SIZE, isBlockDevice: false });
    assert.equal(same.trusted, true);
    const touched = assessJournal(h, report, 'another-boot', { mtimeNs: 1n, size: IMAGE_SIZE, isBlockDevice: false });
    assert.equal(touched.trusted, false);
  });
});
