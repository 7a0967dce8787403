import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PagedBitmap, type ClusterRun } from '../../src/journal/bitmap.js';
import { CLUSTERS_PER_PAGE, PAGE_BITMAP_BYTES } from '../../src/journal/format.js';

const CPP = CLUSTERS_PER_PAGE;
const MAX_CLUSTERS = 3 * CPP + 17;

/** Cluster counts with the awkward ones well represented: page multiples, one off, tiny. */
const clusterCountArb = fc.oneof(
  fc.constantFrom(1, 7, 8, 9, CPP - 1, CPP, CPP + 1, 2 * CPP, 2 * CPP + 1, 3 * CPP, MAX_CLUSTERS),
  fc.integer({ min: 1, max: MAX_CLUSTERS }),
);

/** A range inside [0, count): anywhere, near a page boundary, or long enough to span pages. */
function rangeArb(count: number): fc.Arbitrary<[number, number]> {
  const anywhere = fc.tuple(fc.integer({ min: 0, max: count - 1 }), fc.integer({ min: 0, max: 64 }));
  const nearBoundary = fc
    .tuple(
      fc.integer({ min: 1, max: Math.max(1, Math.floor(count / CPP)) }),
      fc.integer({ min: -20, max: 20 }),
      fc.integer({ min: 0, max: 64 }),
    )
    .map(([p, d, len]) => [Math.min(count - 1, Math.max(0, p * CPP + d)), len] as [number, number]);
  const long = fc.tuple(fc.integer({ min: 0, max: count - 1 }), fc.integer({ min: 0, max: 2 * CPP }));
  return fc.oneof(anywhere, nearBoundary, long).map(([first, len]) => [first, Math.min(count - 1, first + len)] as [number, number]);
}

function modelRuns(model: Set<number>): ClusterRun[] {
  const sorted = [...model].sort((a, b) => a - b);
  const runs: ClusterRun[] = [];
  for (const c of sorted) {
    const last = runs[runs.length - 1];
    if (last && last.start + last.count === c) last.count++;
    else runs.push({ start: c, count: 1 });
  }
  return runs;
}

function pageOf(c: number): number {
  return Math.floor(c / CPP);
}

describe('PagedBitmap', () => {
  test('setRange/test/allSet/countSet/runs agree with a Set model', () => {
    fc.assert(
      fc.property(
        clusterCountArb.chain((count) =>
          fc.tuple(
            fc.constant(count),
            fc.array(rangeArb(count), { minLength: 1, maxLength: 12 }),
            fc.array(rangeArb(count), { maxLength: 8 }),
          ),
        ),
        ([count, ranges, probes]) => {
          const bm = new PagedBitmap(count);
          const model = new Set<number>();
          assert.equal(bm.pageCount, Math.ceil(count / CPP));
          for (const [first, last] of ranges) {
            const expectedPages = new Set<number>();
            let expectedAdded = 0;
            for (let c = first; c <= last; c++) {
              if (!model.has(c)) {
                expectedAdded++;
                expectedPages.add(pageOf(c));
                model.add(c);
              }
            }
            const changed: number[] = [];
            const added = bm.setRange(first, last, (p) => changed.push(p));
            assert.equal(added, expectedAdded, `setRange(${first}, ${last}) newly set`);
            // Exactly the pages that gained a bit, each once, in order.
            assert.deepEqual(
              changed,
              [...expectedPages].sort((a, b) => a - b),
            );
            assert.equal(bm.countSet(), model.size);
          }
          // Point queries: every set bit, its neighbours, the ends, and random ranges.
          const points = new Set<number>([0, count - 1]);
          for (const c of model) for (const d of [-1, 0, 1]) if (c + d >= 0 && c + d < count) points.add(c + d);
          for (const [a, b] of probes) {
            points.add(a);
            points.add(b);
          }
          for (const c of points) assert.equal(bm.test(c), model.has(c), `test(${c})`);
          for (const [first, last] of [...ranges, ...probes]) {
            let all = true;
            for (let c = first; c <= last && all; c++) all = model.has(c);
            assert.equal(bm.allSet(first, last), all, `allSet(${first}, ${last})`);
          }
          assert.deepEqual([...bm.runs()], modelRuns(model));
          for (const [first, last] of [...ranges, ...probes, [0, count - 1] as [number, number]]) {
            let n = 0;
            for (let c = first; c <= last; c++) if (model.has(c)) n++;
            assert.equal(bm.countRange(first, last - first + 1), n, `countRange(${first}, ${last - first + 1})`);
          }
          const pagesWithBits = new Set([...model].map(pageOf));
          assert.equal(bm.allocatedPages(), pagesWithBits.size);
          for (let p = 0; p < bm.pageCount; p++) assert.equal(bm.page(p) !== undefined, pagesWithBits.has(p), `page(${p})`);
        },
      ),
      { numRuns: 120 },
    );
  });

  test('runs() yields maximal, sorted, non-overlapping runs inside the bitmap', () => {
    fc.assert(
      fc.property(
        clusterCountArb.chain((count) => fc.tuple(fc.constant(count), fc.array(rangeArb(count), { maxLength: 16 }))),
        ([count, ranges]) => {
          const bm = new PagedBitmap(count);
          for (const [a, b] of ranges) bm.setRange(a, b);
          const runs = [...bm.runs()];
          let total = 0;
          for (let i = 0; i < runs.length; i++) {
            const r = runs[i]!;
            assert.ok(r.count > 0, 'empty run');
            assert.ok(r.start >= 0 && r.start + r.count <= count, 'run outside the bitmap');
            // Maximal: the clusters just outside the run are clear.
            if (r.start > 0) assert.equal(bm.test(r.start - 1), false);
            if (r.start + r.count < count) assert.equal(bm.test(r.start + r.count), false);
            if (i > 0) {
              const prev = runs[i - 1]!;
              // Sorted, disjoint and not adjacent (adjacent runs would not be maximal).
              assert.ok(prev.start + prev.count < r.start, `runs ${i - 1} and ${i} touch or overlap`);
            }
            total += r.count;
          }
          assert.equal(total, bm.countSet());
        },
      ),
      { numRuns: 120 },
    );
  });

  test('a run that crosses page boundaries is one run', () => {
    const bm = new PagedBitmap(3 * CPP + 17);
    bm.setRange(CPP - 3, 2 * CPP + 4);
    bm.setRange(3 * CPP + 16, 3 * CPP + 16);
    assert.deepEqual([...bm.runs()], [{ start: CPP - 3, count: CPP + 8 }, { start: 3 * CPP + 16, count: 1 }]);
    const changed: number[] = [];
    assert.equal(bm.setRange(CPP - 5, 2 * CPP + 10, (p) => changed.push(p)), 2 + 6);
    assert.deepEqual(changed, [0, 2]); // page 1 gained nothing
  });

  test('setRange outside the bitmap throws RangeError and changes nothing', () => {
    fc.assert(
      fc.property(
        clusterCountArb,
        fc.oneof(
          fc.constant('negative'),
          fc.constant('past-end'),
          fc.constant('reversed'),
          fc.constant('fraction'),
          fc.constant('nan'),
        ),
        (count, how) => {
          const bm = new PagedBitmap(count);
          const bad: Record<string, [number, number]> = {
            negative: [-1, 0],
            'past-end': [Math.max(0, count - 1), count],
            reversed: [Math.min(count - 1, 1), 0],
            fraction: [0.5, 1],
            nan: [Number.NaN, 0],
          };
          const [first, last] = bad[how]!;
          if (how === 'reversed' && first <= last) return; // count 1: no reversed range exists
          assert.throws(() => bm.setRange(first, last), RangeError);
          assert.equal(bm.countSet(), 0);
          assert.equal(bm.allocatedPages(), 0);
        },
      ),
      { numRuns: 60 },
    );
  });

  test('orPage ORs bits in and never sets a bit past clusterCount', () => {
    fc.assert(
      fc.property(
        clusterCountArb.chain((count) =>
          fc.tuple(
            fc.constant(count),
            fc.integer({ min: 0, max: Math.ceil(count / CPP) - 1 }),
            fc.oneof(
              fc.uint8Array({ minLength: PAGE_BITMAP_BYTES, maxLength: PAGE_BITMAP_BYTES }),
              fc.constant(new Uint8Array(PAGE_BITMAP_BYTES).fill(0xff)),
              fc.constant(new Uint8Array(PAGE_BITMAP_BYTES)),
            ),
            fc.array(rangeArb(count), { maxLength: 4 }),
          )),
        ([count, page, bits, before]) => {
          const bm = new PagedBitmap(count);
          const model = new Set<number>();
          for (const [a, b] of before) {
            bm.setRange(a, b);
            for (let c = a; c <= b; c++) model.add(c);
          }
          const copy = new Uint8Array(bits);
          bm.orPage(page, bits);
          assert.deepEqual(bits, copy, 'orPage modified its input');
          for (let i = 0; i < PAGE_BITMAP_BYTES * 8; i++) {
            const c = page * CPP + i;
            if ((bits[i >> 3]! >> (i & 7)) & 1 && c < count) model.add(c);
          }
          assert.equal(bm.countSet(), model.size);
          assert.deepEqual([...bm.runs()], modelRuns(model));
          // The tail of the last page stays clear in the live bytes, not just in the counts.
          const last = bm.page(bm.pageCount - 1);
          if (last) {
            for (let i = count - (bm.pageCount - 1) * CPP; i < PAGE_BITMAP_BYTES * 8; i++) {
              assert.equal((last[i >> 3]! >> (i & 7)) & 1, 0, `tail bit ${i} of the last page is set`);
            }
          }
        },
      ),
      { numRuns: 80 },
    );
  });

  test('orPage of an all-zero page allocates nothing; out-of-range page throws', () => {
    const bm = new PagedBitmap(CPP + 5);
    bm.orPage(1, new Uint8Array(PAGE_BITMAP_BYTES));
    assert.equal(bm.allocatedPages(), 0);
    assert.throws(() => bm.orPage(2, new Uint8Array(PAGE_BITMAP_BYTES)), RangeError);
    assert.throws(() => bm.orPage(-1, new Uint8Array(PAGE_BITMAP_BYTES)), RangeError);
  });

  test('bit order: cluster c is bit (c % 8) of byte floor(c / 8), LSB first', () => {
    const bm = new PagedBitmap(2 * CPP);
    bm.setRange(0, 0);
    bm.setRange(9, 10);
    bm.setRange(CPP + 15, CPP + 15);
    assert.equal(bm.page(0)![0], 0b0000_0001);
    assert.equal(bm.page(0)![1], 0b0000_0110);
    assert.equal(bm.page(1)![1], 0b1000_0000);
  });

  test('fillPage, setAll and clear', () => {
    const count = 2 * CPP + 100;
    const bm = new PagedBitmap(count);
    bm.fillPage(2);
    assert.equal(bm.countSet(), 100);
    assert.deepEqual([...bm.runs()], [{ start: 2 * CPP, count: 100 }]);
    bm.fillPage(0);
    assert.equal(bm.countSet(), CPP + 100);
    bm.setAll();
    assert.equal(bm.countSet(), count);
    assert.deepEqual([...bm.runs()], [{ start: 0, count }]);
    bm.clear();
    assert.equal(bm.countSet(), 0);
    assert.deepEqual([...bm.runs()], []);
    assert.equal(bm.test(0), false);
    const empty = new PagedBitmap(0);
    empty.setAll();
    assert.equal(empty.pageCount, 0);
    assert.deepEqual([...empty.runs()], []);
  });

  test('constructor rejects a bad cluster count', () => {
    assert.throws(() => new PagedBitmap(-1), RangeError);
    assert.throws(() => new PagedBitmap(1.5), RangeError);
  });
});
