/**
 * Two consumers taking checkpoints at once (the README invites several): a write that arrives
 * while the second checkpoint is still closing its epoch must wait for it, or it could land after
 * that checkpoint's header while its bit sits in the epoch before it ("no write straddles a
 * checkpoint"). Deterministic: the fake journal's checkpoint is held open by the test.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Volume } from '../../src/volume/volume.js';
import { Lifecycle } from '../../src/mount/lifecycle.js';
import { closeEpoch } from '../../src/mount/checkpoint.js';
import type { CheckpointResult } from '../../src/journal/journal.js';
import type { ImageFile, IoCallback } from '../../src/volume/image.js';
import type { WriteTracker } from '../../src/tracker/tracker.js';

/** A journal whose epochs close only when the test says so; it records which epoch each write's bit went to. */
class HeldJournal {
  epoch = 1;
  readonly bitEpoch: number[] = [];
  private held: (() => void)[] = [];
  checkpoint(): Promise<CheckpointResult> {
    return new Promise((resolve) => {
      this.held.push(() => {
        const closed = this.epoch++;
        resolve({ generation: 'g', checkpoint: closed, at: 0, rebased: false });
      });
    });
  }
  release(): void {
    this.held.shift()!();
  }
  get waiting(): number {
    return this.held.length;
  }
}

function setup() {
  const lifecycle = new Lifecycle();
  lifecycle.moveTo('active', 'test');
  const volume = new Volume(1 << 20, lifecycle, { journalFailed: () => {}, imageFailed: () => {} }, false, { path: null, reason: 'test' });
  const journal = new HeldJournal();
  const written: number[] = [];
  const image = {
    write: (_d: Buffer, n: number, position: number, cb: IoCallback) => { written.push(position); cb(null, n); },
    read: (_b: Buffer, n: number, _p: number, cb: IoCallback) => cb(null, n),
    datasync: () => Promise.resolve(),
  };
  const tracker: WriteTracker = {
    beforeWrite: () => {
      journal.bitEpoch.push(journal.epoch);
      return null;
    },
    sync: () => Promise.resolve(),
  };
  volume.attach({ image: image as unknown as ImageFile, tracker, recorded: { shareRecorded: () => {} }, clusterSize: 4096, markAhead: 0 });
  return { volume, journal, written };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('overlapping checkpoints', () => {
  test('a write arriving while the second checkpoint is held waits until that epoch is closed', async () => {
    const { volume, journal, written } = setup();
    const a = closeEpoch(volume, () => journal.checkpoint(), 1000);
    const b = closeEpoch(volume, () => journal.checkpoint(), 1000);
    await tick();
    assert.equal(journal.waiting, 2, 'both checkpoints are closing their epochs');
    volume.write(Buffer.alloc(512), 4096, () => {});
    journal.release(); // A's epoch closes; A resumes writes ...
    await a;
    await tick();
    assert.deepEqual(written, [], '... but B still holds the gate: the write must not reach the image yet');
    journal.release();
    await b;
    await tick();
    assert.deepEqual(written, [4096], 'B is done: the write goes');
    assert.deepEqual(journal.bitEpoch, [3], 'its bit is in the epoch after both checkpoints, the one the image write belongs to');
  });
});
