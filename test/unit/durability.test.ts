/**
 * The journal after a failed fdatasync (issue 14): fsync errors are sticky-once on Linux, so the
 * pages written since the last good sync are rewritten before the next sync; history folds are
 * durable before the page they free is rewritten, in both modes; and in ordered mode a durability
 * loss is handed to a guard (the daemon's record keeper) before anyone is told of the failure.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Journal, type DurabilityGuard, type DurabilityLoss } from '../../src/journal/journal.js';
import { CLUSTERS_PER_PAGE, type Durability } from '../../src/journal/format.js';
import { flush, MemoryIo, track } from './helpers/memory-io.js';

const CPP = CLUSTERS_PER_PAGE;
const CS = 4096;
const CLUSTERS = 3 * CPP;
const IMAGE_SIZE = CLUSTERS * CS;

/**
 * An active journal. In ordered mode its three bitmap pages are counted first (a bit at the end of
 * each, synced): the first write of a page syncs in both modes, and what these tests are about is
 * the unsynced rewrites that ordered mode acknowledges.
 */
async function newJournal(io: MemoryIo, durability: Durability): Promise<Journal> {
  const j = await Journal.create(io, { imageSize: IMAGE_SIZE, clusterSize: CS, imagePath: '/images/a.img', now: 1_700_000_000_000 });
  await j.activate({ durability, bootId: 'boot-1', pid: 4242, imagePath: '/images/a.img' });
  if (durability === 'ordered') {
    for (let p = 1; p <= 3; p++) await j.record(p * CPP - 1, p * CPP - 1);
    assert.equal(j.hasUncountedPages, false);
  }
  return j;
}

function setOf(j: Journal): Set<number> {
  const s = new Set<number>();
  for (const r of j.cache.marked.runs()) for (let c = r.start; c < r.start + r.count; c++) s.add(c);
  return s;
}

async function changedSinceOf(bytes: Buffer, base: number): Promise<Set<number>> {
  const { journal } = await Journal.load(new MemoryIo(bytes));
  const out = new Set<number>();
  for (const r of (await journal.changedSince(base)).runs()) for (let c = r.start; c < r.start + r.count; c++) out.add(c);
  return out;
}

/** Fails every datasync while `on()` says so. */
function failSyncs(io: MemoryIo): { on: boolean } {
  const state = { on: false };
  io.faultHook = (op) => (op === 'datasync' && state.on ? 'EIO' : null);
  return state;
}

describe('fsync errors are sticky-once', () => {
  test('ordered: a failed sync drops the written pages from write-back; the next sync rewrites them first', async () => {
    const io = new MemoryIo();
    const j = await newJournal(io, 'ordered');
    const fault = failSyncs(io);
    await j.record(50, 50)!;
    await j.record(CPP + 7, CPP + 7)!; // a second page
    fault.on = true;
    await assert.rejects(j.sync(), { code: 'EIO' });
    assert.ok(io.dropped > 0, 'the model dropped the unsynced writes');
    fault.on = false;
    await j.sync();
    const durable = setOf((await Journal.load(new MemoryIo(io.powerLossImage()))).journal);
    assert.ok(durable.has(50) && durable.has(CPP + 7), `a successful sync after a failed one must cover what the failed one lost: ${[...durable]}`);
  });

  test('ordered: pages written by commits before the failed sync are rewritten too, not only the last batch', async () => {
    const io = new MemoryIo();
    const j = await newJournal(io, 'ordered');
    const fault = failSyncs(io);
    await j.record(1, 1)!;
    await j.sync();
    await j.record(2, 2)!; // commit A, unsynced
    await j.record(CPP + 2, CPP + 2)!; // commit B, unsynced
    fault.on = true;
    // A commit that writes a page and then fails its sync (a checkpoint's, a close's, an fsync's).
    await j.record(2 * CPP + 2, 2 * CPP + 2)!;
    await assert.rejects(j.sync(), { code: 'EIO' });
    fault.on = false;
    await j.sync();
    const durable = setOf((await Journal.load(new MemoryIo(io.powerLossImage()))).journal);
    for (const c of [1, 2, CPP + 2, 2 * CPP + 2]) assert.ok(durable.has(c), `cluster ${c} lost after a failed then a successful sync`);
  });

  for (const durability of ['strict', 'ordered'] as const) {
    test(`${durability}: a failed sync after a history fold makes the next commit fold again`, async () => {
      const io = new MemoryIo();
      const j = await newJournal(io, durability);
      const fault = failSyncs(io);
      await j.record(10, 10)!;
      await j.sync();
      await j.checkpoint(); // epoch 1 closed: cluster 10 is unfolded history of page 0
      // The first commit of epoch 2 on page 0 folds page 0, then syncs: that sync fails.
      fault.on = true;
      await assert.rejects(j.record(20, 20)!.then(() => j.sync()), { code: 'EIO' });
      fault.on = false;
      await j.record(21, 21)!;
      await j.sync();
      const since0 = await changedSinceOf(io.powerLossImage(), 0);
      assert.ok(since0.has(10), 'the closed epoch\'s cluster 10 was lost: its fold was dropped by the failed sync and never redone');
      assert.ok(since0.has(20) && since0.has(21));
    });
  }
});

describe('history folds are durable before the page they free is rewritten', () => {
  test('ordered: the fold is synced before the new epoch\'s page write is issued', async () => {
    const io = new MemoryIo();
    const j = await newJournal(io, 'ordered');
    await j.record(10, 10)!;
    await j.record(CPP + 10, CPP + 10)!;
    await j.checkpoint();
    await j.record(20, 20)!; // page 0 rewritten in epoch 2: its epoch-1 bits are folded first
    // The disk dies now, having taken the page write but none of the unsynced fold writes.
    const writes = io.unsyncedWrites();
    const lastIsPage = (i: number) => i === writes - 1;
    const since0 = await changedSinceOf(io.powerLossImageWith(lastIsPage), 0);
    assert.ok(since0.has(10), 'closed epoch 1 lost cluster 10: the fold was not durable before page 0 was rewritten');
    assert.ok(since0.has(CPP + 10), 'an unfolded page keeps its bits');
  });
});

/** A guard that keeps what it is told, like the daemon's record keeper, in memory. */
class MemoryGuard implements DurabilityGuard {
  readonly losses: DurabilityLoss[] = [];
  readonly restoredFor: string[] = [];
  failWith: string | null = null;
  /** While set, lost() waits for it (to see who hears of the failure first). */
  gate: Promise<void> | null = null;
  async lost(loss: DurabilityLoss): Promise<void> {
    if (this.gate) await this.gate;
    if (this.failWith) throw new Error(this.failWith);
    this.losses.push(loss);
  }
  async restored(generation: string): Promise<void> {
    this.restoredFor.push(generation);
  }
  /** The clusters of the latest record. */
  clusters(): Set<number> {
    const out = new Set<number>();
    for (const p of this.losses.at(-1)?.pages ?? []) {
      for (let i = 0; i < p.bits.length * 8; i++) if (p.bits[i >> 3]! & (1 << (i & 7))) out.add(p.index * CPP + i);
    }
    return out;
  }
}

describe('durability loss (ordered mode): the guard', () => {
  test('is told every page written since the last good sync before anyone hears of the failure', async () => {
    const io = new MemoryIo();
    const j = await newJournal(io, 'ordered');
    const guard = new MemoryGuard();
    j.setDurabilityGuard(guard);
    const fault = failSyncs(io);
    await j.record(1, 1)!;
    await j.sync();
    await j.record(2, 3)!;
    await j.record(CPP + 4, CPP + 4)!;
    let release!: () => void;
    guard.gate = new Promise<void>((r) => { release = r; });
    fault.on = true;
    const s = track(j.sync());
    await flush();
    await flush();
    assert.equal(s.state, 'pending', 'the failed sync was reported before the guard kept the loss');
    assert.equal(j.stats.lastError, null, 'status would show the failure before the loss is kept');
    release();
    await assert.rejects(s.promise, { code: 'EIO' });
    assert.equal(guard.losses.length, 1);
    const loss = guard.losses[0]!;
    assert.equal(loss.generation, j.generation);
    assert.equal(loss.error.code, 'EIO');
    assert.deepEqual(loss.pages.map((p) => p.index), [0, 1]);
    const kept = guard.clusters();
    for (const c of [2, 3, CPP + 4]) assert.ok(kept.has(c), `cluster ${c} not kept`);
    assert.equal(j.lossOutstanding, true);
  });

  test('while a loss is outstanding every commit syncs; a good sync that rewrote the pages restores it', async () => {
    const io = new MemoryIo();
    const j = await newJournal(io, 'ordered');
    const guard = new MemoryGuard();
    j.setDurabilityGuard(guard);
    const fault = failSyncs(io);
    await j.record(5, 5)!;
    fault.on = true;
    await assert.rejects(j.sync());
    // The disk is back but nothing was synced yet: a first touch now waits for a sync, as in strict.
    fault.on = false;
    const syncs = io.calls.datasync;
    await j.record(2 * CPP + 1, 2 * CPP + 1)!;
    assert.ok(io.calls.datasync > syncs, 'a commit during an outstanding loss did not sync');
    assert.equal(j.lossOutstanding, false);
    assert.deepEqual(guard.restoredFor, [j.generation]);
    const durable = setOf((await Journal.load(new MemoryIo(io.powerLossImage()))).journal);
    assert.ok(durable.has(5) && durable.has(2 * CPP + 1));
    // Back to ordered: the next first touch does not wait for a sync.
    const after = io.calls.datasync;
    await j.record(6, 6)!;
    assert.equal(io.calls.datasync, after);
  });

  test('a dead disk: the loss is kept once, not again on every retry that writes nothing', async () => {
    const io = new MemoryIo();
    const j = await newJournal(io, 'ordered');
    const guard = new MemoryGuard();
    j.setDurabilityGuard(guard);
    await j.record(5, 5)!;
    io.faultHook = () => 'EIO';
    await assert.rejects(j.sync());
    await assert.rejects(j.record(6, 6)!);
    await assert.rejects(j.sync());
    assert.equal(guard.losses.length, 1);
    assert.ok(guard.clusters().has(5));
  });

  test('a guard that cannot keep the loss makes the journal untrusted, in memory at least', async () => {
    const io = new MemoryIo();
    const j = await newJournal(io, 'ordered');
    const guard = new MemoryGuard();
    guard.failWith = 'state directory is on the dead disk';
    j.setDurabilityGuard(guard);
    await j.record(5, 5)!;
    io.faultHook = () => 'EIO';
    await assert.rejects(j.sync());
    assert.equal(j.state, 'untrusted');
    assert.match(j.headerSnapshot().reason, /disk failed at .* before changes were synced.*could not be kept \(state directory is on the dead disk\)/);
  });

  test('a failure with nothing unsynced (a close whose header write fails) is kept too, as an empty record', async () => {
    const io = new MemoryIo();
    const j = await newJournal(io, 'ordered');
    const guard = new MemoryGuard();
    j.setDurabilityGuard(guard);
    await j.record(5, 5)!;
    await j.sync();
    io.faultHook = (op) => (op === 'write' ? 'EIO' : null);
    await assert.rejects(j.close({ imageMtimeNs: 1n }));
    assert.equal(guard.losses.length, 1, 'the loss was kept');
    assert.deepEqual(guard.losses[0]!.pages, [], 'nothing acknowledged was at risk');
  });

  test('a commit after close is no durability loss', async () => {
    const io = new MemoryIo();
    const j = await newJournal(io, 'ordered');
    const guard = new MemoryGuard();
    j.setDurabilityGuard(guard);
    await j.record(5, 5)!;
    io.hold('datasync');
    const closing = j.close({ imageMtimeNs: 1n });
    await io.waitForPending('datasync'); // close has taken its snapshot and is syncing it
    j.markAhead(7, 9); // marked after that snapshot: its commit runs once the journal is closed
    io.unhold('datasync');
    await closing;
    await flush();
    assert.equal(j.isClosed, true);
    assert.equal(guard.losses.length, 0, 'a commit refused because the journal is closed was reported as a disk failure');
  });

  test('strict mode never needs the guard', async () => {
    const io = new MemoryIo();
    const j = await newJournal(io, 'strict');
    const guard = new MemoryGuard();
    j.setDurabilityGuard(guard);
    await j.record(5, 5)!;
    io.faultHook = (op) => (op === 'datasync' ? 'EIO' : null);
    await assert.rejects(j.record(6, 6)!);
    await assert.rejects(j.sync());
    assert.equal(guard.losses.length, 0);
    assert.equal(j.state, 'active');
  });

  test('recovery: bits merged from a record are rewritten by the activation, which then restores the loss', async () => {
    const io = new MemoryIo();
    const j = await Journal.create(io, { imageSize: IMAGE_SIZE, clusterSize: CS, imagePath: '/images/a.img' });
    const guard = new MemoryGuard();
    j.setDurabilityGuard(guard);
    const bits = new Uint8Array(4064);
    bits[1] = 0b101; // clusters CPP + 8 and CPP + 10
    j.mergeLostPages([{ index: 1, bits }]);
    assert.equal(j.lossOutstanding, true);
    assert.ok(j.cache.marked.test(CPP + 8) && j.cache.marked.test(CPP + 10));
    await j.activate({ durability: 'ordered', bootId: 'b', pid: 1, imagePath: '/images/a.img' });
    assert.equal(j.lossOutstanding, false);
    assert.deepEqual(guard.restoredFor, [j.generation]);
    const durable = setOf((await Journal.load(new MemoryIo(io.powerLossImage()))).journal);
    assert.ok(durable.has(CPP + 8) && durable.has(CPP + 10));
  });
});

describe('durability loss (property): the disk dies at any moment', () => {
  type Op = { t: 'record'; first: number; len: number } | { t: 'sync' } | { t: 'failSync' } | { t: 'checkpoint' } | { t: 'flush' };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ t: fc.constant('record' as const), first: fc.integer({ min: 0, max: CLUSTERS - 1 }), len: fc.integer({ min: 1, max: 4 }) }) },
    { weight: 2, arbitrary: fc.constant({ t: 'sync' as const }) },
    { weight: 1, arbitrary: fc.constant({ t: 'failSync' as const }) },
    { weight: 1, arbitrary: fc.constant({ t: 'checkpoint' as const }) },
    { weight: 2, arbitrary: fc.constant({ t: 'flush' as const }) },
  );

  test('ordered: every acknowledged cluster is on the disk that survives, or in the guard\'s record', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 30 }), fc.nat(), async (ops, landedSeed) => {
        const io = new MemoryIo();
        const j = await newJournal(io, 'ordered');
        const guard = new MemoryGuard();
        j.setDurabilityGuard(guard);
        let failing = false;
        io.faultHook = (op) => (op === 'datasync' && failing ? 'EIO' : null);
        const acknowledged = new Set<number>();
        const pending: Promise<unknown>[] = [];
        for (const op of ops) {
          if (op.t === 'record') {
            const last = Math.min(CLUSTERS - 1, op.first + op.len - 1);
            const r = j.record(op.first, last);
            const mark = () => { for (let c = op.first; c <= last; c++) acknowledged.add(c); };
            if (r === null) mark();
            else pending.push(r.then(mark, () => {}));
          } else if (op.t === 'sync') pending.push(j.sync().catch(() => {}));
          else if (op.t === 'failSync') {
            failing = true;
            await j.sync().catch(() => {});
            failing = false;
          } else if (op.t === 'checkpoint') pending.push(j.checkpoint().catch(() => {}));
          else await flush();
        }
        await Promise.all(pending);
        // The disk dies: it keeps what was synced and any subset of the rest; every later call
        // fails, and the daemon's next sync (once a second) hands the loss to the guard.
        const survives = io.powerLossImageWith((i) => ((landedSeed >> (i % 30)) & 1) === 1);
        io.faultHook = () => 'EIO';
        await j.sync().catch(() => {});
        const { journal: k } = await Journal.load(new MemoryIo(survives));
        const onDisk = new Set<number>();
        for (const r of (await k.changedSince(0)).runs()) for (let c = r.start; c < r.start + r.count; c++) onDisk.add(c);
        const kept = guard.clusters();
        const lost = [...acknowledged].filter((c) => !onDisk.has(c) && !kept.has(c));
        assert.deepEqual(lost, [], 'acknowledged clusters neither on the surviving disk nor in the record');
      }),
      { numRuns: 150 },
    );
  });
});
