/**
 * A damaged journal is never trusted with fewer changes than it had (issue 12, item 2).
 *
 * Pages past the end of the file and all-zero pages used to read as "never written": a journal cut
 * to its header said "trusted, nothing changed". Each case here damages a journal that held
 * changes, the way a truncation or a zeroed block does, and asks what a mount or an offline reader
 * would conclude: untrusted with a reason a user understands, or more changes, never fewer.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Journal } from '../../src/journal/journal.js';
import { assessJournal, type Verdict } from '../../src/journal/recovery.js';
import {
  CLUSTERS_PER_PAGE,
  decodeHeader,
  encodeHeader,
  ERA_PAGES_PER_BITMAP_PAGE,
  eraIndexOffset,
  eraPagesOffset,
  HEADER_SLOT_SIZE,
  journalFileSize,
  JournalFormatError,
  PAGE_SIZE,
  type Durability,
  PAGES_OFFSET,
  pageOffset,
} from '../../src/journal/format.js';
import type { PagedBitmap } from '../../src/journal/bitmap.js';
import { MemoryIo } from './helpers/memory-io.js';

const CPP = CLUSTERS_PER_PAGE;
const CS = 4096;
const CLUSTERS = 2 * CPP + 100; // three bitmap pages, the last one partial
const IMAGE_SIZE = CLUSTERS * CS;
const PAGES = 3;
const FULL_SIZE = journalFileSize(IMAGE_SIZE, CS);
const BOOT = 'boot-1';

function setOf(b: PagedBitmap): Set<number> {
  const s = new Set<number>();
  for (const r of b.runs()) for (let c = r.start; c < r.start + r.count; c++) s.add(c);
  return s;
}

function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

type EndState = 'clean' | 'active';

/**
 * A journal with history: clusters in all three bitmap pages, a checkpoint, then page 0 written
 * again (which folds its epoch 1 bits into its era pages and the era index). Returns the file as
 * a power cut would leave it (active) or after a clean close.
 */
async function journalWithHistory(end: EndState): Promise<{ bytes: Buffer; written: Map<number, number> }> {
  const io = new MemoryIo();
  const j = await Journal.create(io, { imageSize: IMAGE_SIZE, clusterSize: CS, imagePath: '/images/a.img', now: 1_700_000_000_000 });
  await j.activate({ durability: 'strict', bootId: BOOT, pid: 4242, imagePath: '/images/a.img' });
  const written = new Map<number, number>(); // cluster -> last epoch it was written in
  const write = async (first: number, last: number): Promise<void> => {
    await j.record(first, last);
    for (const c of range(first, last)) written.set(c, j.epoch);
  };
  await write(3, 5);
  await write(1020, 1020); // the second era page of page 0
  await write(CPP + 7, CPP + 7);
  await write(2 * CPP + 99, 2 * CPP + 99);
  await j.checkpoint();
  await write(10, 10); // page 0 again: folds epoch 1 of page 0 first
  if (end === 'clean') await j.close({ imageMtimeNs: 1n });
  else await j.sync(); // everything acknowledged and on the queue is done
  return { bytes: io.powerLossImage(), written };
}

async function verdictOf(bytes: Buffer): Promise<{ verdict: Verdict; journal: Journal }> {
  const { journal, report } = await Journal.load(new MemoryIo(bytes));
  return { verdict: assessJournal(journal.headerSnapshot(), report, BOOT, null), journal };
}

function zeroPage(bytes: Buffer, at: number): Buffer {
  const out = Buffer.from(bytes);
  out.fill(0, at, Math.min(out.length, at + PAGE_SIZE));
  return out;
}

/** Every cluster written after `base` is reported; the journal is trusted. */
async function assertComplete(journal: Journal, written: Map<number, number>, what: string): Promise<void> {
  for (let base = 0; base < journal.epoch; base++) {
    const got = setOf(await journal.changedSince(base));
    for (const [c, e] of written) if (e > base) assert.ok(got.has(c), `${what}: cluster ${c} (epoch ${e}) missing since ${base}`);
  }
}

describe('a truncated journal is untrusted, never trusted with fewer changes', () => {
  for (const end of ['clean', 'active'] as const) {
    test(`${end}: cut to its header`, async () => {
      const { bytes } = await journalWithHistory(end);
      const { verdict } = await verdictOf(bytes.subarray(0, PAGES_OFFSET));
      assert.equal(verdict.trusted, false);
      const missing = (FULL_SIZE - PAGES_OFFSET) / PAGE_SIZE;
      assert.equal(verdict.reason, `journal is shorter than its geometry requires (truncated): ${missing} pages missing`);
      assert.equal(verdict.newlyUntrusted, true);
    });

    test(`${end}: cut to half its size, and cut by one byte`, async () => {
      const { bytes } = await journalWithHistory(end);
      assert.equal(bytes.length, FULL_SIZE);
      const half = (await verdictOf(bytes.subarray(0, FULL_SIZE / 2))).verdict;
      assert.equal(half.trusted, false);
      assert.match(half.reason, new RegExp(`truncated\\): ${FULL_SIZE / 2 / PAGE_SIZE} pages missing$`));
      const byOne = (await verdictOf(bytes.subarray(0, FULL_SIZE - 1))).verdict;
      assert.equal(byOne.trusted, false);
      assert.match(byOne.reason, /truncated\): 1 page missing$/);
    });
  }

  test('the untrusted verdict sticks: mount (mark untrusted, activate), clean close, reload', async () => {
    const { bytes } = await journalWithHistory('clean');
    const io = new MemoryIo(bytes.subarray(0, PAGES_OFFSET));
    const { journal, report } = await Journal.load(io);
    const verdict = assessJournal(journal.headerSnapshot(), report, BOOT, null);
    assert.equal(verdict.trusted, false);
    await journal.markUntrusted(verdict.reason);
    await journal.activate({ durability: 'strict', bootId: BOOT, pid: 4243, imagePath: '/images/a.img' });
    await journal.record(CPP + 1, CPP + 1);
    await journal.close({ imageMtimeNs: 2n });
    const again = await verdictOf(io.powerLossImage());
    assert.equal(again.verdict.trusted, false);
    assert.match(again.verdict.reason, /truncated/);
    assert.equal(again.journal.state, 'untrusted');
  });

  test('a mount restores the file size before it writes any page', async () => {
    const { bytes } = await journalWithHistory('active');
    // Cut inside page 1: page 1 is torn by the cut (damaged, rewritten at activation).
    const io = new MemoryIo(bytes.subarray(0, pageOffset(1) + 100));
    const calls: string[] = [];
    io.faultHook = (op, position) => {
      calls.push(op === 'write' && position >= PAGES_OFFSET ? 'page-write' : op);
      return null;
    };
    const { journal, report } = await Journal.load(io);
    const verdict = assessJournal(journal.headerSnapshot(), report, BOOT, null);
    assert.equal(verdict.trusted, false);
    await journal.activate({ durability: 'strict', bootId: BOOT, pid: 4243, imagePath: '/images/a.img' });
    await journal.record(2 * CPP + 5, 2 * CPP + 5);
    assert.ok(calls.includes('page-write'));
    assert.ok(calls.includes('truncate'), 'the size was not restored');
    assert.ok(calls.indexOf('truncate') < calls.indexOf('page-write'), `a page was written before the size was restored: ${calls.join(' ')}`);
    assert.equal(io.powerLossImage().length, FULL_SIZE);
  });

  test('a re-base (checkpoint of the untrusted journal) restores the size and is trusted again', async () => {
    const { bytes } = await journalWithHistory('clean');
    const io = new MemoryIo(bytes.subarray(0, PAGES_OFFSET));
    const { journal, report } = await Journal.load(io);
    await journal.markUntrusted(assessJournal(journal.headerSnapshot(), report, BOOT, null).reason);
    const r = await journal.checkpoint({ state: 'clean', imageMtimeNs: 5n });
    assert.equal(r.rebased, true);
    await journal.abandon();
    const after = await verdictOf(io.powerLossImage());
    assert.equal(after.verdict.trusted, true, after.verdict.reason);
    assert.equal(io.powerLossImage().length, FULL_SIZE);
  });
});

describe('a zeroed page that held changes is damage', () => {
  for (const end of ['clean', 'active'] as const) {
    test(`${end}: a zeroed bitmap page makes the journal untrusted`, async () => {
      const { bytes } = await journalWithHistory(end);
      for (const p of [0, 1, 2]) {
        const { verdict } = await verdictOf(zeroPage(bytes, pageOffset(p)));
        assert.equal(verdict.trusted, false, `page ${p}`);
        assert.equal(verdict.reason, '1 journal page that held changes is zeroed or missing');
      }
      const two = (await verdictOf(zeroPage(zeroPage(bytes, pageOffset(0)), pageOffset(2)))).verdict;
      assert.equal(two.reason, '2 journal pages that held changes are zeroed or missing');
    });

    test(`${end}: a zeroed era index page makes the journal untrusted`, async () => {
      const { bytes } = await journalWithHistory(end);
      const { verdict } = await verdictOf(zeroPage(bytes, eraIndexOffset(PAGES, 0)));
      assert.equal(verdict.trusted, false);
      assert.equal(verdict.reason, '1 journal page that held changes is zeroed or missing');
    });

    test(`${end}: a zeroed era page reports more (as of its index entry), never less`, async () => {
      const { bytes, written } = await journalWithHistory(end);
      for (let k = 0; k < ERA_PAGES_PER_BITMAP_PAGE; k++) {
        const { verdict, journal } = await verdictOf(zeroPage(bytes, eraPagesOffset(PAGES, 0) + k * PAGE_SIZE));
        assert.equal(verdict.trusted, true, verdict.reason);
        await assertComplete(journal, written, `era page ${k} zeroed`);
      }
    });
  }

  test('an undamaged journal stays trusted and complete (the checks cost no false alarm)', async () => {
    for (const end of ['clean', 'active'] as const) {
      const { bytes, written } = await journalWithHistory(end);
      const { verdict, journal } = await verdictOf(bytes);
      assert.equal(verdict.trusted, true, verdict.reason);
      await assertComplete(journal, written, end);
    }
  });
});

describe('damage never hides changes (property)', () => {
  type Op =
    | { t: 'write'; first: number; len: number }
    | { t: 'checkpoint' }
    | { t: 'reload' };
  type Damage =
    | { t: 'truncate'; at: number }
    | { t: 'zero-written'; pick: number }
    | { t: 'zero-any'; page: number };

  const firstArb = fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0, max: 40 }) },
    { weight: 2, arbitrary: fc.integer({ min: CPP - 3, max: CPP + 3 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: CLUSTERS - 1 }) },
  );
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ t: fc.constant('write' as const), first: firstArb, len: fc.integer({ min: 1, max: 4 }) }) },
    { weight: 2, arbitrary: fc.constant({ t: 'checkpoint' as const }) },
    { weight: 1, arbitrary: fc.constant({ t: 'reload' as const }) },
  );
  const damageArb: fc.Arbitrary<Damage> = fc.oneof(
    fc.record({ t: fc.constant('truncate' as const), at: fc.integer({ min: 0, max: FULL_SIZE - 1 }) }),
    fc.record({ t: fc.constant('zero-written' as const), pick: fc.nat() }),
    fc.record({ t: fc.constant('zero-any' as const), page: fc.integer({ min: 0, max: FULL_SIZE / PAGE_SIZE - 1 }) }),
  );

  function applyDamage(bytes: Buffer, d: Damage): Buffer {
    if (d.t === 'truncate') return Buffer.from(bytes.subarray(0, d.at));
    if (d.t === 'zero-any') return zeroPage(bytes, d.page * PAGE_SIZE);
    // A page that holds something (header slots included).
    const used: number[] = [];
    for (let at = 0; at < bytes.length; at += PAGE_SIZE) if (bytes.subarray(at, at + PAGE_SIZE).some((b) => b !== 0)) used.push(at);
    return zeroPage(bytes, used[d.pick % used.length]!);
  }

  const endArb = fc.constantFrom<EndState | 'killed'>('clean', 'active', 'killed');
  const durabilityArb = fc.constantFrom<Durability>('strict', 'ordered');

  // One fault at a time. In ordered mode too: a page first written since the last sync is counted
  // before its writes are acknowledged, so a zeroed one is damage, not "never written". (Two can
  // hide a page: the newest header slot lost, so the previous header with its smaller count is
  // read, and a page only the lost header counted zeroed too.)
  test('for any workload and any truncation or zeroed page: untrusted, refused, or every write listed', async () => {
    const opsArb = fc.array(opArb, { minLength: 1, maxLength: 25 });
    await fc.assert(
      fc.asyncProperty(opsArb, endArb, durabilityArb, damageArb, async (ops, end, durability, fault) => {
        let io = new MemoryIo();
        let j = await Journal.create(io, { imageSize: IMAGE_SIZE, clusterSize: CS, imagePath: '/i' });
        await j.activate({ durability, bootId: BOOT, pid: 1, imagePath: '/i' });
        const written = new Map<number, number>();
        for (const op of ops) {
          if (op.t === 'write') {
            const last = Math.min(CLUSTERS - 1, op.first + op.len - 1);
            await j.record(op.first, last);
            for (const c of range(op.first, last)) written.set(c, j.epoch);
          } else if (op.t === 'checkpoint') {
            await j.checkpoint();
          } else {
            await j.close({ imageMtimeNs: 1n });
            io = new MemoryIo(io.powerLossImage());
            j = (await Journal.load(io)).journal;
            await j.activate({ durability, bootId: BOOT, pid: 1, imagePath: '/i' });
          }
        }
        if (end === 'clean') await j.close({ imageMtimeNs: 1n });
        else if (end === 'active') await j.sync();
        // 'killed': the daemon died on this boot with nothing synced since its last acknowledged
        // write; the page cache keeps every completed write (ordered mode's premise).
        const bytes = applyDamage(end === 'killed' ? io.processCrashImage() : io.powerLossImage(), fault);
        let loaded;
        try {
          loaded = await Journal.load(new MemoryIo(bytes));
        } catch (e) {
          assert.ok(e instanceof JournalFormatError, `load failed with ${String(e)}`);
          return; // refused: nothing is trusted
        }
        const verdict = assessJournal(loaded.journal.headerSnapshot(), loaded.report, BOOT, null);
        if (!verdict.trusted) return;
        await assertComplete(loaded.journal, written, `trusted after ${JSON.stringify(fault)}`);
      }),
      { numRuns: 400 },
    );
  });
});

describe('loading is bounded by the file, not by the header', () => {
  test('a header claiming 2^53 - 1 bytes at 4 KiB clusters in a file of two header slots', async () => {
    const { bytes } = await journalWithHistory('clean');
    // Both slots claim an image of 8 PiB: about 67 million bitmap pages that the file cannot hold.
    const area = Buffer.alloc(PAGES_OFFSET);
    for (let slot = 0; slot < 2; slot++) {
      const h = decodeHeader(bytes.subarray(slot * HEADER_SLOT_SIZE, (slot + 1) * HEADER_SLOT_SIZE));
      encodeHeader({ ...h, imageSize: Number.MAX_SAFE_INTEGER }).copy(area, slot * HEADER_SLOT_SIZE);
    }
    const io = new MemoryIo(area);
    // A read budget instead of a clock: the file holds two slots, so a handful of reads suffice.
    let reads = 0;
    io.faultHook = (op) => (op === 'read' && ++reads > 64 ? 'EFBIG' : null);
    const { journal, report } = await Journal.load(io);
    const verdict = assessJournal(journal.headerSnapshot(), report, BOOT, null);
    assert.equal(verdict.trusted, false);
    assert.match(verdict.reason, /truncated/);
    assert.ok(reads <= 64, `${reads} reads`);
    assert.equal(journal.cache.marked.countSet(), 0);
  });
});
