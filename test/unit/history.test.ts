/**
 * Checkpoints and history: "changed since checkpoint k" must list every cluster written after k,
 * across checkpoints, lazy folds, reloads and power cuts in the middle of a commit; and nothing
 * that was not written, unless the disk was damaged (then more, never less).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HistoryUnavailableError, Journal } from '../../src/journal/journal.js';
import {
  CLUSTERS_PER_PAGE,
  decodeHeader,
  ERA_PAGES_PER_BITMAP_PAGE,
  eraIndexOffset,
  eraPagesOffset,
  HEADER_SLOT_SIZE,
  PAGE_SIZE,
  pageOffset,
} from '../../src/journal/format.js';
import type { PagedBitmap } from '../../src/journal/bitmap.js';
import { flush, MemoryIo } from './helpers/memory-io.js';

const CPP = CLUSTERS_PER_PAGE;
const CS = 4096;
const CLUSTERS = 2 * CPP + 100; // three bitmap pages, the last one partial
const IMAGE_SIZE = CLUSTERS * CS;
const PAGES = 3;

function setOf(b: PagedBitmap): Set<number> {
  const s = new Set<number>();
  for (const r of b.runs()) for (let c = r.start; c < r.start + r.count; c++) s.add(c);
  return s;
}

function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

async function open(io: MemoryIo): Promise<Journal> {
  const { journal } = await Journal.load(io);
  await journal.activate({ durability: 'strict', bootId: 'b', pid: 1, imagePath: '/i' });
  return journal;
}

/** Clusters whose last write happened in an epoch after `base`. */
function truth(last: Map<number, number>, base: number): Set<number> {
  return new Set([...last].filter(([, e]) => e > base).map(([c]) => c));
}

function assertSameOrMore(got: Set<number>, want: Set<number>, upTo: Set<number> | null, what: string): void {
  for (const c of want) assert.ok(got.has(c), `${what}: cluster ${c} written after the base is missing`);
  if (upTo) for (const c of got) assert.ok(upTo.has(c), `${what}: cluster ${c} was never written after the base`);
}

describe('Journal: checkpoints', () => {
  test('a checkpoint ends the epoch: numbers, header, and what each base sees', async () => {
    const io = new MemoryIo();
    let j = await Journal.create(io, { imageSize: IMAGE_SIZE, clusterSize: CS, imagePath: '/i', now: 1 });
    await j.activate({ durability: 'strict', bootId: 'b', pid: 1, imagePath: '/i' });
    assert.equal(j.epoch, 1);
    await j.record(5, 6);
    const c1 = await j.checkpoint();
    assert.deepEqual({ n: c1.checkpoint, rebased: c1.rebased, gen: c1.generation }, { n: 1, rebased: false, gen: j.generation });
    // Only the header was written: the page of epoch 1 is still on disk as it was.
    assert.equal(decodeHeader(io.powerLossImage().subarray(HEADER_SLOT_SIZE * Number(j.headerSnapshot().sequence % 2n))).epoch, 2);
    assert.equal(j.record(5, 5) instanceof Promise, true, 'a new epoch records its first write again');
    await j.record(5, 5);
    await j.record(CPP + 1, CPP + 1);
    const c2 = await j.checkpoint();
    assert.equal(c2.checkpoint, 2);
    await j.record(9, 9);
    assert.deepEqual(setOf(await j.changedSince(0)), new Set([5, 6, 9, CPP + 1]));
    assert.deepEqual(setOf(await j.changedSince(1)), new Set([5, 9, CPP + 1]));
    assert.deepEqual(setOf(await j.changedSince(2)), new Set([9]));
    await assert.rejects(j.changedSince(3), HistoryUnavailableError);
    await assert.rejects(j.changedSince(-1), HistoryUnavailableError);
    // Page 0 was rewritten in epoch 2 and 3, so epoch 1's and 2's bits of it were folded.
    assert.ok(j.stats.folds >= 2);
    await j.close({ imageMtimeNs: 1n });
    j = (await Journal.load(new MemoryIo(io.powerLossImage()))).journal;
    assert.equal(j.epoch, 3);
    assert.deepEqual(setOf(await j.changedSince(1)), new Set([5, 9, CPP + 1]));
    assert.deepEqual(setOf(await j.changedSince(2)), new Set([9]));
  });

  test('an untrusted journal is re-based by a checkpoint: new generation, checkpoint 0, trusted', async () => {
    const io = new MemoryIo();
    const j = await Journal.create(io, { imageSize: IMAGE_SIZE, clusterSize: CS, imagePath: '/i' });
    await j.record(1, 1);
    await j.checkpoint();
    await j.markUntrusted('image changed behind our back');
    const before = j.generation;
    const r = await j.checkpoint({ state: 'clean', imageMtimeNs: 42n });
    assert.equal(r.rebased, true);
    assert.equal(r.checkpoint, 0);
    assert.equal(r.rebasedFrom, 'image changed behind our back');
    assert.notEqual(r.generation, before);
    const h = (await Journal.load(new MemoryIo(io.powerLossImage()))).journal.headerSnapshot();
    assert.deepEqual({ state: h.state, epoch: h.epoch, gen: h.generation, mtime: h.imageMtimeNs }, { state: 'clean', epoch: 1, gen: r.generation, mtime: 42n });
    assert.deepEqual(setOf(await j.changedSince(0)), new Set());
  });

  test('a write marked but not yet committed at the checkpoint is carried into the next epoch', async () => {
    const io = new MemoryIo();
    const j = await Journal.create(io, { imageSize: IMAGE_SIZE, clusterSize: CS, imagePath: '/i' });
    await j.record(1, 1);
    io.hold('write');
    const inFlight = j.record(7, 7)!;
    const cp = j.checkpoint();
    io.unhold('write');
    await inFlight;
    const r = await cp;
    // The write's commit ran before the checkpoint (one serial queue): it belongs to epoch 1.
    assert.equal(r.checkpoint, 1);
    assert.deepEqual(setOf(await j.changedSince(0)), new Set([1, 7]));
    assert.deepEqual(setOf(await j.changedSince(1)), new Set());
  });
});

describe('Journal: changes between two checkpoints', () => {
  test('changedBetween(a, b) lists what was written after a and up to b', async () => {
    const j = await Journal.create(new MemoryIo(), { imageSize: IMAGE_SIZE, clusterSize: CS, imagePath: '/i' });
    await j.activate({ durability: 'strict', bootId: 'b', pid: 1, imagePath: '/i' });
    await j.record(1, 1);
    await j.checkpoint(); // 1: {1}
    await j.record(2, 2);
    await j.record(CPP + 4, CPP + 4);
    await j.checkpoint(); // 2: {2, CPP+4}
    await j.record(3, 3);
    await j.checkpoint(); // 3: {3}; page 0 rewritten, so epochs 1 and 2 of it are folded
    // Page 1 was not written since epoch 2: its history is exact. Page 0's is exact while its
    // epochs are not folded yet.
    const between = async (a: number, b: number) => {
      const r = await j.changedBetween(a, b);
      return { changed: setOf(r.changed), uncertain: r.uncertain };
    };
    assert.deepEqual(await between(0, 1), { changed: new Set([1, 2]), uncertain: 1 });
    assert.deepEqual(await between(1, 2), { changed: new Set([2, CPP + 4]), uncertain: 0 });
    assert.deepEqual(await between(2, 3), { changed: new Set([3]), uncertain: 0 });
    assert.deepEqual(await between(0, 3), { changed: new Set([1, 2, 3, CPP + 4]), uncertain: 0 });
    assert.deepEqual(await between(1, 3), { changed: new Set([2, 3, CPP + 4]), uncertain: 0 });
    assert.deepEqual(await between(2, 2), { changed: new Set(), uncertain: 0 });
    await j.record(7, 7); // current epoch 4: never in a closed range; folds page 0's epoch 3
    assert.deepEqual(await between(2, 3), { changed: new Set([3]), uncertain: 0 });
    assert.deepEqual(await between(0, 1), { changed: new Set([1, 2, 3]), uncertain: 2 });
    await assert.rejects(j.changedBetween(0, 4), HistoryUnavailableError);
    await assert.rejects(j.changedBetween(2, 1), RangeError);
  });

  test('a cluster written again after b may hide an earlier write: it is listed, never left out', async () => {
    const j = await Journal.create(new MemoryIo(), { imageSize: IMAGE_SIZE, clusterSize: CS, imagePath: '/i' });
    await j.activate({ durability: 'strict', bootId: 'b', pid: 1, imagePath: '/i' });
    await j.record(5, 5);
    await j.checkpoint(); // 1: {5}
    await j.checkpoint(); // 2: {}
    await j.record(5, 5);
    await j.record(6, 6);
    await j.checkpoint(); // 3: {5, 6}
    await j.record(9, 9); // folds page 0: cluster 5's era is now 3
    // Clusters 5 and 6 were last written in 3 and folded since: whether they also changed earlier
    // can no longer be told, so they are listed in every range before 3, as uncertain (cluster 5
    // did change in epoch 1, and is listed there).
    const between = async (a: number, b: number) => {
      const r = await j.changedBetween(a, b);
      return { changed: setOf(r.changed), uncertain: r.uncertain };
    };
    assert.deepEqual(await between(0, 1), { changed: new Set([5, 6]), uncertain: 2 });
    assert.deepEqual(await between(1, 2), { changed: new Set([5, 6]), uncertain: 2 });
    assert.deepEqual(await between(2, 3), { changed: new Set([5, 6]), uncertain: 0 });
  });
});

describe('Journal: history survives folds, reloads and power cuts (property)', () => {
  type Op =
    | { t: 'write'; first: number; len: number }
    | { t: 'checkpoint' }
    | { t: 'reload' }
    | { t: 'cut'; first: number; len: number; completions: number; landed: number };

  const firstArb = fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0, max: 40 }) },
    { weight: 2, arbitrary: fc.integer({ min: CPP - 3, max: CPP + 3 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: CLUSTERS - 1 }) },
  );
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ t: fc.constant('write' as const), first: firstArb, len: fc.integer({ min: 1, max: 4 }) }) },
    { weight: 3, arbitrary: fc.constant({ t: 'checkpoint' as const }) },
    { weight: 1, arbitrary: fc.constant({ t: 'reload' as const }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('cut' as const), first: firstArb, len: fc.integer({ min: 1, max: 4 }), completions: fc.integer({ min: 0, max: 8 }), landed: fc.nat() }) },
  );

  test('changedSince(k) = clusters written after checkpoint k (a write cut mid-commit may or may not count)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 30 }), async (ops) => {
        let io = new MemoryIo();
        let j = await Journal.create(io, { imageSize: IMAGE_SIZE, clusterSize: CS, imagePath: '/i' });
        await j.activate({ durability: 'strict', bootId: 'b', pid: 1, imagePath: '/i' });
        const last = new Map<number, number>(); // acknowledged: cluster -> last epoch written
        const maybe = new Map<number, number>(); // cut mid-commit: may have been recorded
        for (const op of ops) {
          if (op.t === 'write') {
            const p = j.record(op.first, Math.min(CLUSTERS - 1, op.first + op.len - 1));
            if (p) await p;
            for (const c of range(op.first, Math.min(CLUSTERS - 1, op.first + op.len - 1))) last.set(c, j.epoch);
          } else if (op.t === 'checkpoint') {
            const r = await j.checkpoint();
            assert.equal(r.checkpoint, j.epoch - 1);
          } else if (op.t === 'reload') {
            await j.close({ imageMtimeNs: 1n });
            io = new MemoryIo(io.powerLossImage());
            j = await open(io);
          } else {
            // Power cut while a commit (possibly with a fold) is under way.
            io.hold('write');
            io.hold('datasync');
            const epoch = j.epoch;
            j.record(op.first, Math.min(CLUSTERS - 1, op.first + op.len - 1))?.catch(() => {});
            for (let i = 0; i < op.completions; i++) {
              await flush();
              if (io.pendingCount() === 0) break;
              io.releaseAt(0);
            }
            await flush();
            for (const c of range(op.first, Math.min(CLUSTERS - 1, op.first + op.len - 1))) maybe.set(c, epoch);
            // The disk may have taken any subset of the writes not yet covered by a datasync.
            io = new MemoryIo(io.powerLossImageWith((i) => ((op.landed >> i) & 1) === 1));
            j = await open(io);
          }
        }
        for (let base = 0; base < j.epoch; base++) {
          const got = setOf(await j.changedSince(base));
          const upTo = truth(last, base);
          for (const [c, e] of maybe) if (e > base) upTo.add(c);
          assertSameOrMore(got, truth(last, base), upTo, `base ${base} of ${j.epoch - 1}`);
        }
      }),
      { numRuns: 150 },
    );
  });

  test('changedBetween(a, b): every cluster written in (a, b], only ones written after a, exactly so when b is the latest', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb.filter((op) => op.t !== 'cut'), { minLength: 1, maxLength: 30 }), async (ops) => {
        let io = new MemoryIo();
        let j = await Journal.create(io, { imageSize: IMAGE_SIZE, clusterSize: CS, imagePath: '/i' });
        await j.activate({ durability: 'strict', bootId: 'b', pid: 1, imagePath: '/i' });
        const epochs = new Map<number, Set<number>>(); // cluster -> every epoch that wrote it
        for (const op of ops) {
          if (op.t === 'write') {
            const last = Math.min(CLUSTERS - 1, op.first + op.len - 1);
            const p = j.record(op.first, last);
            if (p) await p;
            for (const c of range(op.first, last)) epochs.set(c, (epochs.get(c) ?? new Set()).add(j.epoch));
          } else if (op.t === 'checkpoint') {
            await j.checkpoint();
          } else {
            await j.close({ imageMtimeNs: 1n });
            io = new MemoryIo(io.powerLossImage());
            j = await open(io);
          }
        }
        const writtenIn = (lo: number, hi: number) => new Set([...epochs]
          .filter(([, es]) => [...es].some((e) => e > lo && e <= hi))
          .map(([c]) => c));
        const latest = j.epoch - 1;
        for (let a = 0; a <= latest; a++) {
          for (let b = a; b <= latest; b++) {
            const r = await j.changedBetween(a, b);
            const got = setOf(r.changed);
            const want = writtenIn(a, b);
            assertSameOrMore(got, want, writtenIn(a, latest), `between ${a} and ${b} of ${latest}`);
            // What is listed beyond the truth is counted as uncertain, and only that.
            const extra = got.size - want.size;
            assert.ok(extra <= r.uncertain, `between ${a} and ${b}: ${extra} extra, ${r.uncertain} uncertain`);
            if (b === latest) {
              assert.deepEqual({ got, uncertain: r.uncertain }, { got: want, uncertain: 0 }, `between ${a} and the latest ${b}: exact`);
            }
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  test('a damaged era page, era index page or bitmap page reports more, never less', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(
          { weight: 3, arbitrary: fc.record({ t: fc.constant('write' as const), first: firstArb, len: fc.integer({ min: 1, max: 4 }) }) },
          { weight: 2, arbitrary: fc.constant({ t: 'checkpoint' as const }) },
        ), { minLength: 1, maxLength: 25 }),
        fc.constantFrom('era', 'index', 'bitmap'),
        fc.integer({ min: 0, max: PAGES - 1 }),
        fc.integer({ min: 0, max: ERA_PAGES_PER_BITMAP_PAGE - 1 }),
        fc.integer({ min: 0, max: PAGE_SIZE - 1 }),
        async (ops, where, page, eraPage, byte) => {
          const io = new MemoryIo();
          const j = await Journal.create(io, { imageSize: IMAGE_SIZE, clusterSize: CS, imagePath: '/i' });
          await j.activate({ durability: 'strict', bootId: 'b', pid: 1, imagePath: '/i' });
          const last = new Map<number, number>();
          for (const op of ops) {
            if (op.t === 'write') {
              const p = j.record(op.first, Math.min(CLUSTERS - 1, op.first + op.len - 1));
              if (p) await p;
              for (const c of range(op.first, Math.min(CLUSTERS - 1, op.first + op.len - 1))) last.set(c, j.epoch);
            } else await j.checkpoint();
          }
          const bytes = io.powerLossImage();
          const at = where === 'era' ? eraPagesOffset(PAGES, page) + eraPage * PAGE_SIZE : where === 'index' ? eraIndexOffset(PAGES, 0) : pageOffset(page);
          if (at + byte < bytes.length) bytes[at + byte] = bytes[at + byte]! ^ 0x41;
          const k = (await Journal.load(new MemoryIo(bytes))).journal;
          for (let base = 0; base < k.epoch; base++) {
            assertSameOrMore(setOf(await k.changedSince(base)), truth(last, base), null, `${where} damaged, base ${base}`);
          }
          // Between two checkpoints: at least every cluster whose last write fell in between, read
          // as found, and again after a mount rewrote the damaged page (its history folded).
          const checkBetween = async (journal: Journal, when: string) => {
            for (let a = 0; a < journal.epoch; a++) {
              for (let b = a; b < journal.epoch; b++) {
                const lastIn = new Set([...truth(last, a)].filter((c) => last.get(c)! <= b));
                const got = setOf((await journal.changedBetween(a, b)).changed);
                assertSameOrMore(got, lastIn, null, `${where} damaged, between ${a} and ${b}, ${when}`);
              }
            }
          };
          await checkBetween(k, 'as loaded');
          const damagedIo = new MemoryIo(bytes);
          const mounted = await open(damagedIo);
          await mounted.close({ imageMtimeNs: 1n });
          await checkBetween((await Journal.load(new MemoryIo(damagedIo.powerLossImage()))).journal, 'after a mount');
        },
      ),
      { numRuns: 150 },
    );
  });
});
