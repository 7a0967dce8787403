/**
 * What a backup tool consumes (src/journal/changes.ts): sorted, merged byte ranges in batches, a
 * summary whose byte count matches them, and the whole image whenever the changes cannot be told.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { changeList, changesSince, collect, extentBatches, extentsOf, EXTENTS_PER_BATCH, type Extent } from '../../src/journal/changes.js';
import { PagedBitmap } from '../../src/journal/bitmap.js';
import { CLUSTERS_PER_PAGE } from '../../src/journal/format.js';
import { Journal } from '../../src/journal/journal.js';
import { ErrnoError } from '../../src/util/errno.js';
import { MemoryIo } from './helpers/memory-io.js';

const CS = 65536;

/** A change list's common fields, for a trusted list since the generation's start. */
type ListParams = Parameters<typeof changeList>[0];

function params(bitmap: PagedBitmap | null, imageSize: number, over: Partial<ListParams> = {}): ListParams {
  return {
    bitmap, imageSize, clusterSize: CS, generation: 'g', trusted: true, reason: '', totalClusters: Math.ceil(imageSize / CS),
    since: 'g:0', latestCheckpoint: 'g:0', ...over,
  };
}

describe('extents', () => {
  test('extentsOf merges adjacent clusters (also across pages) and clips the last extent', () => {
    const imageSize = (2 * CLUSTERS_PER_PAGE + 10) * CS - 1000; // last cluster is partial
    const count = Math.ceil(imageSize / CS);
    const bm = new PagedBitmap(count);
    bm.setRange(0, 0);
    bm.setRange(1, 1); // adjacent: merges with 0
    bm.setRange(5, 7);
    bm.setRange(CLUSTERS_PER_PAGE - 1, CLUSTERS_PER_PAGE); // across the page boundary
    bm.setRange(count - 2, count - 1);
    assert.deepEqual(extentsOf(bm, CS, imageSize), [
      { offset: 0, length: 2 * CS },
      { offset: 5 * CS, length: 3 * CS },
      { offset: (CLUSTERS_PER_PAGE - 1) * CS, length: 2 * CS },
      { offset: (count - 2) * CS, length: CS + (CS - 1000) },
    ]);
    assert.deepEqual(extentsOf(new PagedBitmap(count), CS, imageSize), []);
  });

  test('batches: full ones of the batch size, then the rest; together, every extent once and in order', () => {
    const count = 2 * EXTENTS_PER_BATCH + 1000;
    const bm = new PagedBitmap(2 * count);
    for (let i = 0; i < count; i++) bm.setRange(2 * i, 2 * i); // every other cluster: one extent each
    const imageSize = 2 * count * CS;
    const batches = [...extentBatches(bm, CS, imageSize)];
    assert.deepEqual(batches.map((b) => b.length), [EXTENTS_PER_BATCH, EXTENTS_PER_BATCH, 1000]);
    const all = batches.flat();
    assert.equal(all.length, count);
    all.forEach((e, i) => assert.deepEqual(e, { offset: 2 * i * CS, length: CS }));
    // The list hands out the same batches, made lazily: each call starts over.
    const list = changeList(params(bm, imageSize));
    assert.deepEqual([...list.batches()].map((b) => b.length), [EXTENTS_PER_BATCH, EXTENTS_PER_BATCH, 1000]);
    assert.deepEqual([...list.batches()].flat(), all);
    assert.deepEqual([...extentBatches(new PagedBitmap(16), CS, 16 * CS)], [], 'no changes: no batch at all, not an empty one');
  });

  test('property: for any bitmap and batch size, the batches are the merged runs, clipped, none empty or too large', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 3 * CLUSTERS_PER_PAGE }),
      fc.integer({ min: 0, max: CS - 1 }),
      fc.array(fc.nat(), { maxLength: 200 }),
      fc.integer({ min: 1, max: 50 }),
      (clusters, shortBy, picks, perBatch) => {
        const imageSize = clusters * CS - (shortBy % CS);
        const bm = new PagedBitmap(clusters);
        const set = new Set(picks.map((p) => p % clusters));
        for (const c of set) bm.setRange(c, c);
        const batches = [...extentBatches(bm, CS, imageSize, perBatch)];
        for (const b of batches) assert.ok(b.length >= 1 && b.length <= perBatch);
        const extents = batches.flat();
        let covered = 0;
        let end = -1;
        for (const e of extents) {
          assert.ok(e.offset > end, 'sorted, and not adjacent to the previous extent (merged)');
          assert.ok(e.length > 0 && e.offset + e.length <= imageSize, 'inside the image');
          end = e.offset + e.length;
          covered += e.length;
        }
        const clustersCovered = new Set<number>();
        for (const e of extents) for (let c = e.offset / CS; c * CS < e.offset + e.length; c++) clustersCovered.add(c);
        assert.deepEqual([...clustersCovered].sort((a, b) => a - b), [...set].sort((a, b) => a - b));
        assert.equal(changeList(params(bm, imageSize)).summary.changedBytes, covered, 'changedBytes is what the extents cover');
      },
    ), { numRuns: 300 });
  });
});

describe('changeList', () => {
  test('trusted: the extents, and counts and bytes that match them', () => {
    const bm = new PagedBitmap(16);
    bm.setRange(3, 4);
    bm.setRange(15, 15);
    const r = collect(changeList(params(bm, 15 * CS + 10)));
    assert.deepEqual(r, {
      imageSize: 15 * CS + 10, clusterSize: CS, generation: 'g', trusted: true, since: 'g:0', latestCheckpoint: 'g:0',
      changedClusters: 3, totalClusters: 16,
      changedBytes: 2 * CS + 10, extents: [{ offset: 3 * CS, length: 2 * CS }, { offset: 15 * CS, length: 10 }],
    });
    assert.equal('reason' in r, false);
    assert.equal('fullImage' in r, false);
    assert.equal('baseUnavailable' in r, false);
  });

  test('changedBytes: a short last cluster counts only its bytes inside the image, and only when it changed', () => {
    const imageSize = 16 * CS - 7;
    const withLast = new PagedBitmap(16);
    withLast.setRange(14, 15);
    assert.equal(changeList(params(withLast, imageSize)).summary.changedBytes, 2 * CS - 7);
    const withoutLast = new PagedBitmap(16);
    withoutLast.setRange(13, 14);
    assert.equal(changeList(params(withoutLast, imageSize)).summary.changedBytes, 2 * CS);
    const onlyLast = new PagedBitmap(16);
    onlyLast.setRange(15, 15);
    const r = collect(changeList(params(onlyLast, imageSize)));
    assert.equal(r.changedBytes, CS - 7);
    assert.deepEqual(r.extents, [{ offset: 15 * CS, length: CS - 7 }]);
    assert.equal(changeList(params(new PagedBitmap(16), imageSize)).summary.changedBytes, 0);
  });

  test('untrusted: one extent over the whole image, with the reason', () => {
    const bm = new PagedBitmap(16);
    bm.setRange(3, 4);
    const r = collect(changeList(params(bm, 16 * CS - 7, { trusted: false, reason: 'host restarted' })));
    assert.equal(r.fullImage, 'host restarted');
    assert.equal(r.trusted, false);
    assert.equal(r.reason, 'host restarted');
    assert.deepEqual(r.extents, [{ offset: 0, length: 16 * CS - 7 }]);
    assert.equal(r.changedBytes, 16 * CS - 7);
    assert.equal(r.changedClusters, 2); // what the bitmap says, for information
    assert.equal(r.totalClusters, 16);
    assert.equal(r.baseUnavailable, undefined);
    const noReason = collect(changeList(params(bm, 100, { trusted: false, reason: '' })));
    assert.equal(noReason.reason, 'journal is untrusted');
    assert.deepEqual(noReason.extents, [{ offset: 0, length: 100 }]);
  });

  test('a base that cannot be used: the whole image, flagged, with why (also when the journal is untrusted too)', () => {
    const why = 'checkpoint aa:3 belongs to another history';
    const r = collect(changeList(params(null, 16 * CS, { since: 'aa:3', latestCheckpoint: 'g:1', baseUnavailable: why })));
    assert.equal(r.baseUnavailable, true);
    assert.equal(r.fullImage, why);
    assert.deepEqual(r.extents, [{ offset: 0, length: 16 * CS }]);
    assert.equal(r.changedBytes, 16 * CS);
    assert.equal(r.changedClusters, 16, 'no bitmap: every cluster');
    assert.equal(r.trusted, true);
    const both = collect(changeList(params(null, 16 * CS, { trusted: false, reason: 'r', baseUnavailable: 'gone' })));
    assert.deepEqual([both.baseUnavailable, both.fullImage, both.trusted, both.reason], [true, 'gone', false, 'r']);
    assert.deepEqual(both.extents, [{ offset: 0, length: 16 * CS }]);
  });
});

describe('changesSince a journal', () => {
  const IMAGE = 8 * CS + 100;

  async function journal(): Promise<Journal> {
    const j = await Journal.create(new MemoryIo(), { imageSize: IMAGE, clusterSize: CS, imagePath: '/i' });
    await j.activate({ durability: 'strict', bootId: 'b', pid: 1, imagePath: '/i' });
    await j.record(1, 1);
    await j.checkpoint();
    await j.record(8, 8);
    return j;
  }
  const trusted = { trusted: true, reason: '' };
  const extents = async (j: Journal, since: string | null): Promise<Extent[]> => collect(await changesSince(j, since, trusted)).extents;

  test('since the start (null), or since a checkpoint of its history given by a prefix of the generation', async () => {
    const j = await journal();
    const gen = j.generation;
    const all = collect(await changesSince(j, null, trusted));
    assert.equal(all.since, `${gen.slice(0, 12)}:0`);
    assert.equal(all.latestCheckpoint, `${gen.slice(0, 12)}:1`);
    assert.deepEqual(all.extents, [{ offset: CS, length: CS }, { offset: 8 * CS, length: 100 }]);
    assert.equal(all.changedBytes, CS + 100);
    assert.deepEqual(await extents(j, `${gen.slice(0, 12)}:1`), [{ offset: 8 * CS, length: 100 }]);
    assert.deepEqual(await extents(j, `${gen.slice(0, 8).toUpperCase()}:1`), [{ offset: 8 * CS, length: 100 }]);
  });

  test('a checkpoint of another history or not yet taken: the whole image, flagged; a malformed id throws EINVAL', async () => {
    const j = await journal();
    const gen = j.generation;
    const other = `${gen[0] === 'f' ? 'e' : 'f'}${gen.slice(1, 12)}:1`;
    for (const since of [other, `${gen.slice(0, 12)}:2`]) {
      const r = collect(await changesSince(j, since, trusted));
      assert.equal(r.baseUnavailable, true, since);
      assert.deepEqual(r.extents, [{ offset: 0, length: IMAGE }], since);
      assert.equal(r.since, since);
    }
    await assert.rejects(changesSince(j, 'not-an-id', trusted), (e: unknown) => e instanceof ErrnoError && e.code === 'EINVAL');
  });

  test('an untrusted verdict: the whole image, whatever the bitmap says', async () => {
    const j = await journal();
    const reason = 'image was modified while not mounted';
    const r = collect(await changesSince(j, null, { trusted: false, reason }));
    assert.deepEqual(r.extents, [{ offset: 0, length: IMAGE }]);
    assert.deepEqual([r.trusted, r.reason, r.fullImage], [false, reason, reason]);
  });
});
