import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PageCache, type PageSnapshot } from '../../src/journal/page-cache.js';
import { CLUSTERS_PER_PAGE, decodePage, PAGE_HEADER_SIZE, PAGE_SIZE } from '../../src/journal/format.js';
import type { PagedBitmap } from '../../src/journal/bitmap.js';

const CPP = CLUSTERS_PER_PAGE;
const GEN = '5a'.repeat(16);

type Step =
  | { t: 'mark'; first: number; len: number }
  | { t: 'take' }
  | { t: 'complete'; pick: number; ok: boolean };

function stepsArb(count: number): fc.Arbitrary<Step[]> {
  const start = fc.oneof(
    fc.integer({ min: 0, max: count - 1 }),
    // Near a page boundary, so ranges span pages.
    fc
      .tuple(fc.integer({ min: 0, max: Math.floor((count - 1) / CPP) }), fc.integer({ min: -8, max: 8 }))
      .map(([p, d]) => Math.min(count - 1, Math.max(0, p * CPP + d))),
    // A few hot clusters, so marks often hit pages that are in flight.
    fc.constantFrom(0, Math.min(count - 1, 5), Math.min(count - 1, CPP + 3)),
  );
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ t: fc.constant('mark' as const), first: start, len: fc.integer({ min: 1, max: 40 }) }) },
    { weight: 2, arbitrary: fc.constant({ t: 'take' as const }) },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('complete' as const), pick: fc.nat(), ok: fc.boolean() }) },
  );
  return fc.array(step, { minLength: 1, maxLength: 50 });
}

function setOf(bm: PagedBitmap): Set<number> {
  const s = new Set<number>();
  for (const r of bm.runs()) for (let c = r.start; c < r.start + r.count; c++) s.add(c);
  return s;
}

function bitsOfSnapshot(s: PageSnapshot, count: number): Set<number> {
  const out = new Set<number>();
  const bits = s.bytes.subarray(PAGE_HEADER_SIZE);
  for (let i = 0; i < bits.length * 8; i++) {
    if ((bits[i >> 3]! >> (i & 7)) & 1) {
      const c = s.index * CPP + i;
      assert.ok(c < count, `snapshot of page ${s.index} has bit ${c} past the end`);
      out.add(c);
    }
  }
  return out;
}

interface InFlight {
  snaps: PageSnapshot[];
  /** The bytes as taken, to prove they never change afterwards. */
  frozen: Buffer[];
  bits: Set<number>;
}

/** Looks at the dirty set without changing it: a snapshot that fails puts its pages back. */
function peekDirty(cache: PageCache): number[] {
  const snaps = cache.takeSnapshot(GEN, 1);
  cache.commitFailed(snaps);
  return snaps.map((s) => s.index);
}

describe('PageCache', () => {
  test('model: no lost update, recorded only from succeeded snapshots, snapshots immutable', () => {
    const countArb = fc.oneof(fc.constantFrom(1, 100, CPP, CPP + 1, 2 * CPP + 7), fc.integer({ min: 1, max: 3 * CPP + 17 }));
    fc.assert(
      fc.property(
        countArb.chain((count) => fc.tuple(fc.constant(count), stepsArb(count))),
        ([count, steps]) => {
          const cache = new PageCache(count);
          const marked = new Set<number>();
          const recorded = new Set<number>(); // union of the bits of succeeded snapshots
          const dirty = new Set<number>(); // model of the dirty pages
          const inFlight: InFlight[] = [];

          const check = (where: string): void => {
            const liveMarked = setOf(cache.marked);
            const liveRecorded = setOf(cache.recorded);
            assert.deepEqual(liveMarked, marked, `${where}: marked`);
            // Recorded is exactly what succeeded snapshots carried: never more (that would be a bit
            // claimed durable without a write), never less.
            assert.deepEqual(liveRecorded, recorded, `${where}: recorded`);
            for (const c of liveRecorded) assert.ok(liveMarked.has(c), `${where}: recorded ${c} not marked`);
            assert.equal(cache.dirtyCount(), dirty.size, `${where}: dirtyCount`);
            // NO LOST UPDATE: a marked bit is recorded, or its page is dirty, or it is in flight.
            for (const c of marked) {
              if (liveRecorded.has(c) || dirty.has(Math.floor(c / CPP))) continue;
              assert.ok(inFlight.some((f) => f.bits.has(c)), `${where}: cluster ${c} is marked but neither recorded, dirty nor in flight`);
            }
            // A snapshot's bytes never change, even though the live pages went on changing.
            for (const f of inFlight) f.snaps.forEach((s, i) => assert.ok(s.bytes.equals(f.frozen[i]!), `${where}: snapshot of page ${s.index} changed`));
          };

          steps.forEach((step, n) => {
            const where = `step ${n} ${JSON.stringify(step)}`;
            if (step.t === 'mark') {
              const first = step.first;
              const last = Math.min(count - 1, first + step.len - 1);
              for (let c = first; c <= last; c++) {
                if (!marked.has(c)) dirty.add(Math.floor(c / CPP));
                marked.add(c);
              }
              cache.mark(first, last);
            } else if (step.t === 'take') {
              const snaps = cache.takeSnapshot(GEN, 1);
              // Exactly the dirty pages, sorted, each a valid encoded page holding the live bits.
              assert.deepEqual(snaps.map((s) => s.index), [...dirty].sort((a, b) => a - b), `${where}: snapshot pages`);
              const bits = new Set<number>();
              for (const s of snaps) {
                assert.equal(s.bytes.length, PAGE_SIZE);
                assert.equal(decodePage(s.bytes, s.index, GEN).kind, 'valid');
                const b = bitsOfSnapshot(s, count);
                const expected = [...marked].filter((c) => Math.floor(c / CPP) === s.index);
                assert.deepEqual(b, new Set(expected), `${where}: snapshot of page ${s.index} is not the live page`);
                for (const c of b) bits.add(c);
              }
              dirty.clear();
              if (snaps.length > 0) inFlight.push({ snaps, frozen: snaps.map((s) => Buffer.from(s.bytes)), bits });
            } else {
              if (inFlight.length === 0) return;
              const [f] = inFlight.splice(step.pick % inFlight.length, 1);
              if (step.ok) {
                cache.commitSucceeded(f!.snaps);
                for (const c of f!.bits) recorded.add(c);
              } else {
                cache.commitFailed(f!.snaps);
                for (const s of f!.snaps) dirty.add(s.index);
              }
            }
            check(where);
          });

          // The real dirty set is the model's.
          assert.deepEqual(peekDirty(cache), [...dirty].sort((a, b) => a - b));
          // Drain: whatever is still in flight succeeds (in the order left), then commits run until
          // nothing is dirty. Every marked bit must end up recorded.
          for (const f of inFlight.splice(0)) {
            cache.commitSucceeded(f.snaps);
            for (const c of f.bits) recorded.add(c);
          }
          for (let round = 0; cache.dirtyCount() > 0; round++) {
            assert.ok(round < 2, 'dirty pages keep coming back');
            cache.commitSucceeded(cache.takeSnapshot(GEN, 1));
          }
          assert.deepEqual(setOf(cache.recorded), marked, 'after draining, recorded === marked');
        },
      ),
      { numRuns: 150 },
    );
  });

  test('a page being written stays modifiable and is written again after', () => {
    const cache = new PageCache(2 * CPP);
    cache.mark(10, 10);
    const first = cache.takeSnapshot(GEN, 1);
    assert.equal(cache.dirtyCount(), 0);
    cache.mark(11, 11); // the same page, while its first write is in flight
    assert.equal(cache.dirtyCount(), 1);
    assert.equal(bitsOfSnapshot(first[0]!, 2 * CPP).has(11), false, 'the in-flight snapshot changed');
    cache.commitSucceeded(first);
    assert.equal(cache.isRecorded(10, 10), true);
    assert.equal(cache.isRecorded(11, 11), false, 'bit 11 was never written but is recorded');
    assert.equal(cache.isRecorded(10, 11), false);
    const second = cache.takeSnapshot(GEN, 1);
    assert.deepEqual(second.map((s) => s.index), [0]);
    cache.commitSucceeded(second);
    assert.equal(cache.isRecorded(10, 11), true);
  });

  test('marking bits that are already marked dirties nothing', () => {
    const cache = new PageCache(CPP + 10);
    cache.mark(0, 5);
    cache.commitSucceeded(cache.takeSnapshot(GEN, 1));
    cache.mark(2, 4);
    assert.equal(cache.dirtyCount(), 0);
    assert.deepEqual(cache.takeSnapshot(GEN, 1), []);
  });

  test('an older snapshot succeeding after a newer one does not unrecord anything', () => {
    const cache = new PageCache(CPP);
    cache.mark(1, 1);
    const older = cache.takeSnapshot(GEN, 1);
    cache.mark(2, 2);
    const newer = cache.takeSnapshot(GEN, 1);
    cache.commitSucceeded(newer);
    cache.commitSucceeded(older);
    assert.equal(cache.isRecorded(1, 2), true);
    // A failure of the older one after the newer succeeded re-dirties the page: harmless rewrite.
    cache.commitFailed(older);
    assert.equal(cache.dirtyCount(), 1);
  });

  test('loadPage marks and records; loadDamagedPage takes the whole page as changed and dirties it', () => {
    const count = CPP + 100;
    const cache = new PageCache(count);
    const bits = new Uint8Array(PAGE_SIZE - PAGE_HEADER_SIZE);
    bits[0] = 0b101;
    cache.loadPage(0, bits);
    assert.equal(cache.isRecorded(0, 0), true);
    assert.equal(cache.isRecorded(1, 1), false);
    assert.equal(cache.isRecorded(2, 2), true);
    assert.equal(cache.dirtyCount(), 0);
    cache.loadDamagedPage(1);
    assert.equal(cache.isRecorded(CPP, count - 1), true);
    assert.equal(cache.recorded.countSet(), 2 + 100);
    assert.deepEqual(cache.takeSnapshot(GEN, 1).map((s) => s.index), [1]);
    cache.reset();
    assert.equal(cache.marked.countSet(), 0);
    assert.equal(cache.recorded.countSet(), 0);
    assert.equal(cache.dirtyCount(), 0);
  });
});
