/**
 * The volume's write gate for checkpoints: while paused, a write waits (it is not refused and not
 * issued); the drain waits for the writes already past the gate and for nothing else.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Volume } from '../../src/volume/volume.js';
import { Lifecycle } from '../../src/mount/lifecycle.js';
import type { ImageFile, IoCallback } from '../../src/volume/image.js';
import type { WriteTracker } from '../../src/tracker/tracker.js';
import { errno } from '../../src/util/errno.js';

/** An image whose writes complete only when the test says so. */
class HeldImage {
  readonly writes: { position: number; done: () => void }[] = [];
  write(_data: Buffer, n: number, position: number, cb: IoCallback): void {
    this.writes.push({ position, done: () => cb(null, n) });
  }
  read(_b: Buffer, n: number, _p: number, cb: IoCallback): void { cb(null, n); }
  datasync(): Promise<void> { return Promise.resolve(); }
}

function setup() {
  const lifecycle = new Lifecycle();
  lifecycle.moveTo('active', 'test');
  const volume = new Volume(1 << 20, lifecycle, { journalFailed: () => {}, imageFailed: () => {} }, false, { path: null, reason: 'test' });
  const image = new HeldImage();
  const tracked: number[] = [];
  const tracker: WriteTracker = { beforeWrite: (offset) => { tracked.push(offset); return null; }, sync: () => Promise.resolve() };
  volume.attach({ image: image as unknown as ImageFile, tracker, recorded: { shareRecorded: () => {} }, clusterSize: 4096, markAhead: 0 });
  return { lifecycle, volume, image, tracked };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('Volume: pausing writes for a checkpoint', () => {
  test('a write in flight holds the drain; a write arriving while paused waits, then goes', async () => {
    const { volume, image, tracked } = setup();
    const replies: number[] = [];
    volume.write(Buffer.alloc(512), 0, (r) => replies.push(r));
    assert.equal(image.writes.length, 1);
    volume.pauseWrites();
    let drained = false;
    const drain = volume.whenWritesDrained(1000).then(() => { drained = true; });
    volume.write(Buffer.alloc(512), 4096, (r) => replies.push(r));
    await tick();
    assert.equal(image.writes.length, 1, 'a paused write must not be issued');
    assert.deepEqual(tracked, [0], 'nor be tracked: it belongs to the next epoch');
    assert.equal(drained, false, 'the drain waits for the write in flight');
    image.writes[0]!.done();
    await drain;
    assert.deepEqual(replies, [512]);
    assert.equal(volume.pendingRequests, 1, 'the paused write is still a request in flight');
    volume.resumeWrites();
    assert.deepEqual(tracked, [0, 4096]);
    assert.equal(image.writes.length, 2);
    image.writes[1]!.done();
    assert.deepEqual(replies, [512, 512]);
    assert.equal(volume.pendingRequests, 0);
  });

  test('a paused write is refused when writes resume if the mount left active meanwhile', async () => {
    const { lifecycle, volume, image, tracked } = setup();
    const replies: number[] = [];
    volume.pauseWrites();
    volume.write(Buffer.alloc(512), 0, (r) => replies.push(r));
    volume.write(Buffer.alloc(512), 8192, (r) => replies.push(r));
    lifecycle.moveTo('ejecting', 'test');
    volume.resumeWrites();
    assert.equal(image.writes.length, 0, 'a write refused at resume never reaches the image');
    assert.deepEqual(tracked, [], 'nor the journal');
    assert.deepEqual(replies, [-errno('EIO'), -errno('EIO')]);
    assert.equal(volume.pendingRequests, 0, 'and is no longer in flight');
    await volume.whenWritesDrained(1000);
  });

  test('a paused write answered by abortInFlight is not started when writes resume', async () => {
    const { lifecycle, volume, image } = setup();
    const replies: number[] = [];
    volume.pauseWrites();
    volume.write(Buffer.alloc(512), 0, (r) => replies.push(r));
    lifecycle.moveTo('removed', 'test');
    assert.equal(volume.abortInFlight(-errno('ENODEV')), 1);
    volume.resumeWrites();
    assert.equal(image.writes.length, 0);
    assert.deepEqual(replies, [-errno('ENODEV')], 'answered once, by the abort');
  });

  test('pauses nest: writes wait until the last pauser resumes', () => {
    const { volume, image } = setup();
    volume.pauseWrites();
    volume.pauseWrites();
    volume.write(Buffer.alloc(512), 0, () => {});
    volume.resumeWrites();
    assert.equal(image.writes.length, 0, 'one pauser still holds the gate');
    volume.resumeWrites();
    assert.equal(image.writes.length, 1);
    assert.throws(() => volume.resumeWrites(), /INTERNAL ERROR/, 'an unmatched resume is a bug');
  });

  test('a request stuck for the limit is answered with EIO by the sweep; its late completion is ignored', () => {
    const { volume, image } = setup();
    const replies: number[] = [];
    volume.write(Buffer.alloc(512), 0, (r) => replies.push(r));
    assert.equal(volume.expireStuck(2), 0, 'one sweep: not stuck yet');
    volume.write(Buffer.alloc(512), 4096, (r) => replies.push(r));
    assert.equal(volume.expireStuck(2), 1, 'the first request has now been in flight for two sweeps');
    assert.deepEqual(replies, [-5 /* EIO */]);
    image.writes[0]!.done();
    assert.deepEqual(replies, [-5], 'a late completion does not answer again');
    image.writes[1]!.done();
    assert.deepEqual(replies, [-5, 512]);
    assert.equal(volume.pendingRequests, 0);
  });
});
