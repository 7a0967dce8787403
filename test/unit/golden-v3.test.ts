/**
 * The committed golden journal of format version 3 (test/fixtures/golden-v3.trackfs, made by
 * scripts/make-golden.mjs): version 2's epochs and history, a file at its full size, and the page
 * counts that let a reader tell lost pages from pages never written. If a test here fails, the
 * on-disk format changed: that needs a new version, not a new file.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { HistoryUnavailableError, Journal, type LoadReport } from '../../src/journal/journal.js';
import { FileJournalIo } from '../../src/journal/journal-io.js';
import { assessJournal } from '../../src/journal/recovery.js';
import {
  decodeHeader,
  encodeHeader,
  eraIndexOffset,
  eraPagesOffset,
  HEADER_SLOT_SIZE,
  journalFileSize,
  PAGE_SIZE,
  pageOffset,
} from '../../src/journal/format.js';
import type { PagedBitmap } from '../../src/journal/bitmap.js';
import { MemoryIo } from './helpers/memory-io.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const GOLDEN = `${ROOT}test/fixtures/golden-v3.trackfs`;
const IMAGE_SIZE = 200 * 1024 ** 2 + 1000;
const GENERATION = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const BOOT = '6f1c2a9e-0d44-4b7e-9a51-2a3c7e5d9b10';
const MTIME = 1_700_001_199_000_000_007n;

function setOf(b: PagedBitmap): number[] {
  const out: number[] = [];
  for (const r of b.runs()) for (let c = r.start; c < r.start + r.count; c++) out.push(c);
  return out;
}

async function verdictOf(bytes: Buffer) {
  const { journal, report } = await Journal.load(new MemoryIo(bytes));
  return {
    journal,
    verdict: assessJournal(journal.headerSnapshot(), report, BOOT, { mtimeNs: MTIME, size: IMAGE_SIZE, isBlockDevice: false }),
  };
}

describe('golden journal, format version 3', () => {
  let raw: Buffer;
  let journal: Journal;
  let report: LoadReport;

  before(async () => {
    raw = readFileSync(GOLDEN);
    const io = await FileJournalIo.open(GOLDEN, { create: false, readOnly: true });
    ({ journal, report } = await Journal.load(io));
  });
  after(async () => { await journal?.abandon(); });

  test('the file is the committed one, at its full size', () => {
    assert.equal(raw.length, 282624);
    assert.equal(raw.length, journalFileSize(IMAGE_SIZE, 4096));
    assert.equal(raw.length, 8192 + 2 * 4096 + 4096 + 2 * 32 * 4096);
    assert.equal(createHash('sha256').update(raw).digest('hex'), '03fb78ed6004c8764e8a79625775bac52412c3216c5db1e0adc08a8a034ffada');
  });

  test('raw bytes at fixed offsets', () => {
    // Sequence 12 is in slot 0, sequence 11 in slot 1.
    assert.equal(raw.readUInt32LE(8), 3); // version
    assert.equal(raw.readBigUInt64LE(16), 12n);
    assert.equal(raw.readUInt32LE(2688), 3); // epoch
    assert.equal(raw.readUInt32LE(2712), 2); // bitmapPagesWritten
    assert.equal(raw.readUInt32LE(2716), 1); // eraIndexPagesWritten
    assert.ok(raw.subarray(2720, 2776).every((b) => b === 0), 'unused before fsIdentity');
    assert.equal(raw.toString('latin1', 2776, 2776 + 17), 'unique:2147483676'); // fsIdentity
    assert.ok(raw.subarray(2776 + 17, HEADER_SLOT_SIZE).every((b) => b === 0), 'NUL padding, then the rest of the slot is zero');
    assert.equal(raw.readUInt32LE(HEADER_SLOT_SIZE + 8), 3);
    assert.equal(raw.readBigUInt64LE(HEADER_SLOT_SIZE + 16), 11n);
    assert.equal(raw.readUInt32LE(HEADER_SLOT_SIZE + 2712), 1); // the older header counted one page
    assert.equal(raw.readUInt32LE(HEADER_SLOT_SIZE + 2716), 1);
    // Bitmap pages: epoch at byte 12.
    assert.equal(raw.readUInt32LE(pageOffset(0) + 12), 3);
    assert.equal(raw.readUInt32LE(pageOffset(1) + 12), 2);
    assert.equal(raw[pageOffset(0) + 32], 0b1000_0000); // cluster 7
    assert.equal(raw[pageOffset(1) + 32 + (51200 - 32512) / 8], 0b0000_0001); // cluster 51200, the last
    // Era index at 8192 + 2 * 4096, era pages of bitmap page 0 after it.
    assert.equal(eraIndexOffset(2, 0), 16384);
    assert.equal(raw.toString('latin1', 16384, 16388), 'TKEI');
    assert.equal(raw.readUInt32LE(16384 + 32), 2);
    assert.equal(eraPagesOffset(2, 0), 20480);
    assert.equal(raw.readUInt32LE(20480 + 32 + 4 * 7), 1);
    assert.equal(raw.readUInt32LE(20480 + PAGE_SIZE + 32 + 4 * (2000 - 1016)), 2);
    // The era pages of page 1 were never written.
    assert.ok(raw.subarray(eraPagesOffset(2, 1)).every((b) => b === 0));
  });

  test('checksums are zlib crc32 with the field zeroed', () => {
    const slot = Buffer.from(raw.subarray(0, HEADER_SLOT_SIZE));
    slot.writeUInt32LE(0, 12);
    assert.equal(crc32(slot), raw.readUInt32LE(12));
    for (const at of [pageOffset(0), pageOffset(1), eraIndexOffset(2, 0), eraPagesOffset(2, 0)]) {
      const page = Buffer.from(raw.subarray(at, at + PAGE_SIZE));
      page.writeUInt32LE(0, 4);
      assert.equal(crc32(page), raw.readUInt32LE(at + 4), `page at ${at}`);
    }
  });

  test('header as loaded, and this trackfs encodes the same bytes', () => {
    assert.deepEqual(report, { damagedHeaderSlots: [], damagedPages: [], damagedHistoryPages: [], missingPages: 0, lostPages: 0 });
    assert.deepEqual(journal.headerSnapshot(), {
      version: 3,
      sequence: 12n,
      imageSize: IMAGE_SIZE,
      clusterSize: 4096,
      generation: GENERATION,
      state: 'clean',
      reason: '',
      durability: 'strict',
      createdAt: 1_700_000_000_000,
      updatedAt: 1_700_001_200_000,
      imageMtimeNs: MTIME,
      bootId: BOOT,
      pid: 0,
      imagePath: '/images/golden3.img',
      epoch: 3,
      lastCheckpointAt: 1_700_001_100_000,
      generationAt: 1_700_000_100_000,
      bitmapPagesWritten: 2,
      eraIndexPagesWritten: 1,
      fsIdentity: 'unique:2147483676',
    });
    for (let slot = 0; slot < 2; slot++) {
      const bytes = raw.subarray(slot * HEADER_SLOT_SIZE, (slot + 1) * HEADER_SLOT_SIZE);
      assert.ok(encodeHeader(decodeHeader(bytes)).equals(bytes), `header slot ${slot}`);
    }
    assert.deepEqual([...journal.history.folded], [2, 0]);
    assert.equal(journal.history.unfolded.get(1)?.epoch, 2);
  });

  test('changed since each checkpoint, exactly; trusted against its image', async () => {
    assert.deepEqual(setOf(await journal.changedSince(0)), [7, 2000, 20000, 32511, 32512, 51200]);
    assert.deepEqual(setOf(await journal.changedSince(1)), [7, 2000, 32511, 32512, 51200]);
    assert.deepEqual(setOf(await journal.changedSince(2)), [7, 32511]);
    await assert.rejects(journal.changedSince(3), HistoryUnavailableError);
    assert.equal((await verdictOf(raw)).verdict.trusted, true);
  });

  test('damage to it: cut short or a counted page zeroed is untrusted; a zeroed era page reports more', async () => {
    const cut = await verdictOf(raw.subarray(0, raw.length - PAGE_SIZE));
    assert.equal(cut.verdict.reason, 'journal is shorter than its geometry requires (truncated): 1 page missing');
    const zero = (at: number) => {
      const b = Buffer.from(raw);
      b.fill(0, at, at + PAGE_SIZE);
      return b;
    };
    for (const at of [pageOffset(0), pageOffset(1), eraIndexOffset(2, 0)]) {
      assert.equal((await verdictOf(zero(at))).verdict.reason, '1 journal page that held changes is zeroed or missing', `page at ${at}`);
    }
    const era = await verdictOf(zero(eraPagesOffset(2, 0)));
    assert.equal(era.verdict.trusted, true);
    // Clusters 0..1015 of the zeroed era page read as of the index entry (epoch 2).
    const since1 = setOf(await era.journal.changedSince(1));
    assert.equal(since1.filter((c) => c < 1016).length, 1016);
    assert.ok([2000, 32512, 51200].every((c) => since1.includes(c)));
    assert.deepEqual(setOf(await era.journal.changedSince(2)), [7, 32511]);
    // The older slot alone (the newest lost): it counts fewer pages, which are all there.
    const olderOnly = zero(0);
    const older = await verdictOf(olderOnly);
    assert.equal(older.journal.headerSnapshot().sequence, 11n);
    assert.equal(older.verdict.trusted, true, older.verdict.reason);
  });
});

describe('versions 1 and 2 are upgraded to 3 by the first header write', () => {
  for (const [name, file, imageSize, changed] of [
    ['version 1', 'golden-v1.trackfs', 10 * 1024 ** 3 + 12345, [0, 1, 2, 100, 32511, 32512, ...Array.from({ length: 10 }, (_, i) => 40000 + i), 163840]],
    ['version 2', 'golden-v2.trackfs', 300 * 1024 ** 2 + 12345, [3, 50, 100, 1016, 32511, 32517, 32518, 32519, 76802]],
  ] as const) {
    test(`${name}: full size, page counts from what the load found, the same changes, trusted`, async () => {
      const io = new MemoryIo(readFileSync(`${ROOT}test/fixtures/${file}`));
      const { journal: j, report } = await Journal.load(io);
      assert.deepEqual(report, { damagedHeaderSlots: [], damagedPages: [], damagedHistoryPages: [], missingPages: 0, lostPages: 0 });
      const h = j.headerSnapshot();
      await j.activate({ durability: 'strict', bootId: BOOT, pid: 4243, imagePath: h.imagePath });
      await j.close({ imageMtimeNs: h.imageMtimeNs });
      const upgraded = await Journal.load(new MemoryIo(io.powerLossImage()));
      const u = upgraded.journal.headerSnapshot();
      assert.equal(u.version, 3);
      assert.equal(io.powerLossImage().length, journalFileSize(imageSize, h.clusterSize));
      // Version 1: pages 0, 1 and 5 of this generation (page 3 is stale). Version 2: 3 pages, 1 index page.
      assert.deepEqual([u.bitmapPagesWritten, u.eraIndexPagesWritten], name === 'version 1' ? [3, 0] : [3, 1]);
      assert.deepEqual(upgraded.report, {
        damagedHeaderSlots: [],
        damagedPages: [],
        damagedHistoryPages: [],
        missingPages: 0,
        lostPages: 0,
      });
      assert.equal(assessJournal(u, upgraded.report, BOOT, null).trusted, true);
      assert.deepEqual(setOf(await upgraded.journal.changedSince(0)), changed);
    });
  }
});
