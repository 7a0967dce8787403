/**
 * End to end: fsync, fdatasync and O_DSYNC on the volume, checked where they can fail.
 *
 * A write to a new cluster commits the journal by itself (strict mode syncs it too), so a test
 * whose writes all touch new clusters passes even when fsync does nothing. Here every cluster is
 * written and settled first; what follows rewrites recorded clusters, which needs no journal
 * commit, and then asks what only an fsync does:
 *  - the image's own fdatasync: the image is served by a FUSE helper that counts the fsyncs it is
 *    asked for and can fail them (backing-device.ts);
 *  - in ordered mode, the journal's fdatasync: a journal whose fdatasync fails (test hook) must make
 *    the volume's fsync fail with EIO, and without an fsync no journal sync is due.
 * (`syncs` growing after an fsync in ordered mode proves nothing by itself: the periodic sync, once
 * a second while anything is unsynced, makes it grow too. The failing fdatasync is what shows the
 * fsync asked for one.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clustersOfExtents, e2e, readRange, TEST_TIMEOUT_MS, waitFor } from './harness.js';
import { startBackingDevice } from './backing-device.js';
import { seededBytes } from './prng.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const IMAGE_SIZE = 16 * MiB;
const CS = 64 * KiB;

for (const durability of ['strict', 'ordered'] as const) {
  const name = `${durability}: fsync, fdatasync and O_DSYNC of rewritten clusters make the image durable; `
    + 'a failing image sync fails them with EIO';
  test(name, { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const h = await e2e(t);
    if (!h) return;
    const device = await startBackingDevice(h, IMAGE_SIZE);
    await h.mount({ image: device.image, journal: h.journal, clusterSize: '64K', durability });

    // Clusters 4..7 written, recorded and synced: from here on, writes to them need no commit.
    await h.ioOk([`write:${4 * CS}:${4 * CS}:1`, 'fsync']);
    const settled = await h.status();
    const settledFsyncs = device.fsyncs();

    // Rewrites without any sync: nothing is committed, nothing synced, the image not flushed.
    await h.ioOk([`write:${4 * CS + 512}:8192:2`, `write:${6 * CS}:${CS}:3`]);
    await h.ioOk([`write:${5 * CS}:4096:4`], { flags: ['direct'] });
    const rewritten = await h.status();
    assert.equal(rewritten.commits, settled.commits, 'a rewrite of recorded clusters commits nothing');
    assert.equal(rewritten.syncs, settled.syncs, 'nothing is synced without an fsync');
    assert.equal(device.fsyncs(), settledFsyncs, 'the image was not flushed without an fsync');
    assert.ok((await readRange(device.source, 6 * CS, CS)).equals(seededBytes(3, CS)), 'the rewrite reached the image');

    // Each of these must reach the image's own fdatasync (waitFsyncs fails after 10 s otherwise).
    await h.ioOk(['fsync']);
    await device.waitFsyncs(settledFsyncs + 1);
    await h.ioOk(['fdatasync']);
    await device.waitFsyncs(settledFsyncs + 2);
    await h.ioOk([`write:${7 * CS}:4096:5`], { flags: ['dsync'] });
    await device.waitFsyncs(settledFsyncs + 3);
    await h.ioOk([`write:${7 * CS + 8192}:4096:6`], { flags: ['direct', 'dsync'] });
    await device.waitFsyncs(settledFsyncs + 4);

    // The image cannot be made durable: every kind of sync of the volume says so.
    await device.failFsync(true);
    for (const [steps, flags] of [[['fsync'], []], [['fdatasync'], []], [[`write:${4 * CS}:4096:7`], ['dsync']]] as const) {
      const r = await h.io([...steps], { flags: [...flags] });
      assert.equal(r.errno, 'EIO', `${steps.join(' ')} ${flags.join(',')} while the image cannot be synced: ${r.errno ?? 'succeeded'}`);
    }
    const failed = await h.status();
    assert.ok(failed.imageErrors >= 3, `status counts the failed image syncs: ${failed.imageErrors}`);

    // One failed sync is one failed request: the device still answers, the mount goes on.
    await device.failFsync(false);
    await waitFor('the mount to be active again after its probe', async () => (await h.status()).state === 'active', 10_000);
    await h.ioOk([`write:${4 * CS}:4096:8`, 'fsync']);
    const offline = await h.changes(h.journal);
    assert.deepEqual([...clustersOfExtents(offline.extents, CS)], [4, 5, 6, 7], 'the journal file lists the written clusters');
    assert.equal(offline.trusted, true);
    await h.unmount();
  });
}

const ORDERED_JOURNAL = 'ordered: the volume\'s fsync syncs the journal; a journal whose fdatasync fails fails it with EIO';
test(ORDERED_JOURNAL, { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  await h.createImage(IMAGE_SIZE);
  await h.mount({ clusterSize: '64K', durability: 'ordered', testHooks: true });

  await h.ioOk([`write:${3 * CS}:4096:1`, 'fsync']);
  const js = await h.status(h.journal);
  assert.equal(js.journalState, 'active', 'offline view of a live journal');
  assert.deepEqual([...clustersOfExtents((await h.changes(h.journal)).extents, CS)], [3], 'the journal file lists the cluster');

  // Nothing unsynced: a rewrite (no fsync) commits nothing and no journal sync is due.
  const settled = await h.status();
  await h.ioOk([`write:${3 * CS + 4096}:4096:2`]);
  const rewritten = await h.status();
  assert.equal(rewritten.commits, settled.commits, 'a rewrite of a recorded cluster commits nothing');
  assert.equal(rewritten.syncs, settled.syncs, 'no journal sync without an fsync or anything unsynced');

  // Ordered mode records a new cluster's bit without a journal fdatasync, so the write itself
  // succeeds while fdatasync fails; the fsync must then sync the journal, and fails because it
  // cannot (whether or not the periodic sync tried first).
  await h.injectJournalFault('datasync', 'EIO');
  await h.ioOk([`write:${9 * CS}:4096:3`]);
  assert.ok((await readRange(h.image, 9 * CS, 4096)).equals(seededBytes(3, 4096)), 'ordered mode: the write itself went through');
  assert.deepEqual([...clustersOfExtents((await h.changes(h.journal)).extents, CS)], [3, 9], 'the bit was written ahead of the data');
  for (const step of ['fsync', 'fdatasync']) {
    const r = await h.io([step]);
    assert.equal(r.errno, 'EIO', `${step} while the journal cannot be synced: ${r.errno ?? 'succeeded'}`);
  }
  const s = await h.status();
  assert.equal(s.lastError?.code, 'EIO');

  // Fault cleared: the fsync succeeds, and the journal is closed clean with both clusters.
  await h.injectJournalFault('none');
  await h.ioOk(['fsync']);
  await h.unmount();
  const after = await h.status(h.journal);
  assert.equal(after.journalState, 'clean');
  assert.equal(after.trusted, true);
  assert.deepEqual([...clustersOfExtents((await h.changes(h.journal)).extents, CS)], [3, 9]);
});
