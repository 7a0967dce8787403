/**
 * The committed golden journal of format version 2 (test/fixtures/golden-v2.trackfs, made by
 * scripts/make-golden.mjs): epochs, unfolded pages of closed epochs, the era index and era pages.
 * If a test here fails, the on-disk format changed: that needs a new version, not a new file.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { HistoryUnavailableError, Journal, type LoadReport } from '../../src/journal/journal.js';
import { FileJournalIo } from '../../src/journal/journal-io.js';
import { changesSince, collect } from '../../src/journal/changes.js';
import {
  decodeHeader,
  decodeMetaPage,
  decodePage,
  encodeHeader,
  eraIndexOffset,
  eraPagesOffset,
  HEADER_SLOT_SIZE,
  journalFileSize,
  PAGE_SIZE,
  pageOffset,
} from '../../src/journal/format.js';
import type { PagedBitmap } from '../../src/journal/bitmap.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const GOLDEN = `${ROOT}test/fixtures/golden-v2.trackfs`;
const IMAGE_SIZE = 300 * 1024 ** 2 + 12345;
const GENERATION = '00112233445566778899aabbccddeeff';

function setOf(b: PagedBitmap): number[] {
  const out: number[] = [];
  for (const r of b.runs()) for (let c = r.start; c < r.start + r.count; c++) out.push(c);
  return out;
}

describe('golden journal, format version 2', () => {
  let raw: Buffer;
  let journal: Journal;
  let report: LoadReport;

  before(async () => {
    raw = readFileSync(GOLDEN);
    const io = await FileJournalIo.open(GOLDEN, { create: false, readOnly: true });
    ({ journal, report } = await Journal.load(io));
  });
  after(async () => { await journal?.abandon(); });

  test('the file is the committed one, shorter than the full size (the rest reads as zeros)', () => {
    assert.equal(raw.length, 155648);
    assert.equal(raw.length, eraPagesOffset(3, 1));
    assert.equal(journalFileSize(IMAGE_SIZE, 4096), 8192 + 3 * 4096 + 4096 + 3 * 32 * 4096);
    assert.equal(createHash('sha256').update(raw).digest('hex'), 'e78f63bfac6337e93e82ccf0a3a92cce27fa688fcb897003b933965061dcc134');
  });

  test('raw bytes at fixed offsets', () => {
    assert.equal(raw.readUInt32LE(8 + HEADER_SLOT_SIZE), 2); // slot 1 holds sequence 9: version 2
    const slot = HEADER_SLOT_SIZE; // sequence 9 -> slot 1
    assert.equal(raw.readBigUInt64LE(slot + 16), 9n);
    assert.equal(raw.readUInt32LE(slot + 2688), 4); // epoch
    assert.equal(raw.readBigUInt64LE(slot + 2696), 1_700_000_800_000n); // lastCheckpointAt
    assert.equal(raw.readBigUInt64LE(slot + 2704), 1_700_000_100_000n); // generationAt
    // Bitmap pages: epoch at byte 12 of each page.
    assert.equal(raw.readUInt32LE(pageOffset(0) + 12), 4);
    assert.equal(raw.readUInt32LE(pageOffset(1) + 12), 2);
    assert.equal(raw.readUInt32LE(pageOffset(2) + 12), 3);
    // Era index page at 8192 + 3 * 4096: magic TKEI, entry 0 = 3.
    const ix = eraIndexOffset(3, 0);
    assert.equal(ix, 20480);
    assert.equal(raw.toString('latin1', ix, ix + 4), 'TKEI');
    assert.equal(raw.readUInt32LE(ix + 32), 3);
    assert.equal(raw.readUInt32LE(ix + 36), 0);
    // Era pages of bitmap page 0 from 24576: magic TKER, page index k, one u32 per cluster.
    const era = eraPagesOffset(3, 0);
    assert.equal(era, 24576);
    assert.equal(raw.toString('latin1', era, era + 4), 'TKER');
    assert.equal(raw.readUInt32LE(era + 32 + 4 * 3), 1); // cluster 3: epoch 1
    assert.equal(raw.readUInt32LE(era + 32 + 4 * 50), 2); // cluster 50: epoch 2
    assert.equal(raw.readUInt32LE(era + PAGE_SIZE + 8), 1); // second era page has index 1
    assert.equal(raw.readUInt32LE(era + PAGE_SIZE + 32), 3); // cluster 1016: epoch 3
    assert.equal(raw.readUInt32LE(era + 31 * PAGE_SIZE + 32 + 4 * 1015), 1); // cluster 32511: epoch 1
  });

  test('checksums are zlib crc32 with the field zeroed, for era and index pages too', () => {
    for (const at of [eraIndexOffset(3, 0), eraPagesOffset(3, 0), eraPagesOffset(3, 0) + 31 * PAGE_SIZE]) {
      const page = Buffer.from(raw.subarray(at, at + PAGE_SIZE));
      const want = page.readUInt32LE(4);
      page.writeUInt32LE(0, 4);
      assert.equal(crc32(page), want);
    }
  });

  test('header, pages and index as loaded', () => {
    assert.deepEqual(report, { damagedHeaderSlots: [], damagedPages: [], damagedHistoryPages: [], missingPages: 0, lostPages: 0 });
    const h = journal.headerSnapshot();
    assert.equal(h.version, 2);
    assert.equal(h.epoch, 4);
    assert.equal(h.generation, GENERATION);
    assert.equal(h.state, 'clean');
    assert.equal(journal.clusterCount, 76804);
    // The current epoch's bits are the page cache; closed epochs' pages are unfolded history.
    assert.deepEqual(setOf(journal.cache.recorded), [3, 100]);
    assert.deepEqual([...journal.history.unfolded.keys()].sort(), [1, 2]);
    assert.equal(journal.history.unfolded.get(1)!.epoch, 2);
    assert.equal(journal.history.unfolded.get(2)!.epoch, 3);
    assert.deepEqual([...journal.history.folded], [3, 0, 0]);
    const older = decodeHeader(raw.subarray(0, HEADER_SLOT_SIZE));
    assert.equal(older.sequence, 8n);
    assert.equal(older.state, 'active');
    assert.ok(encodeHeader(older).equals(raw.subarray(0, HEADER_SLOT_SIZE)));
    assert.equal(decodePage(raw.subarray(pageOffset(1), pageOffset(1) + PAGE_SIZE), 1, GENERATION).kind, 'valid');
    assert.equal(decodeMetaPage(raw.subarray(eraIndexOffset(3, 0), eraIndexOffset(3, 0) + PAGE_SIZE), 'era-index', 0, 'ff'.repeat(16)).kind, 'stale');
  });

  test('changed since each checkpoint, exactly', async () => {
    assert.deepEqual(setOf(await journal.changedSince(0)), [3, 50, 100, 1016, 32511, 32517, 32518, 32519, 76802]);
    assert.deepEqual(setOf(await journal.changedSince(1)), [3, 50, 100, 1016, 32517, 32518, 32519, 76802]);
    assert.deepEqual(setOf(await journal.changedSince(2)), [3, 100, 1016, 76802]);
    assert.deepEqual(setOf(await journal.changedSince(3)), [3, 100]);
    await assert.rejects(journal.changedSince(4), HistoryUnavailableError);
  });

  test('the consumer report: ids, extents, and an id of another history', async () => {
    const r = collect(await changesSince(journal, '001122334455:2', { trusted: true, reason: '' }));
    assert.equal(r.since, '001122334455:2');
    assert.equal(r.latestCheckpoint, '001122334455:3');
    assert.deepEqual(r.extents, [
      { offset: 3 * 4096, length: 4096 },
      { offset: 100 * 4096, length: 4096 },
      { offset: 1016 * 4096, length: 4096 },
      { offset: 76802 * 4096, length: 4096 },
    ]);
    const other = collect(await changesSince(journal, 'ffeeddccbbaa:2', { trusted: true, reason: '' }));
    assert.equal(other.baseUnavailable, true);
    assert.deepEqual(other.extents, [{ offset: 0, length: IMAGE_SIZE }]);
    const future = collect(await changesSince(journal, '001122334455:4', { trusted: true, reason: '' }));
    assert.equal(future.baseUnavailable, true);
    assert.match(future.fullImage!, /latest checkpoint .* is 3/);
  });
});
