/**
 * End to end: fsync and O_DSYNC on the volume. They succeed, they make the journal durable (the
 * daemon's sync count goes up), in ordered mode the journal file on disk lists the cluster once
 * the fsync has returned, and a journal that cannot be synced makes the fsync fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clustersOfExtents, e2e, readRange, TEST_TIMEOUT_MS } from './harness.js';
import { seededBytes } from './prng.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const IMAGE_SIZE = 16 * MiB;
const CS = 64 * KiB;

for (const durability of ['strict', 'ordered'] as const) {
  test(`conv=fsync and oflag=dsync succeed and sync the journal, ${durability}`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const h = await e2e(t);
    if (!h) return;
    await h.createImage(IMAGE_SIZE);
    await h.mount({ clusterSize: '64K', durability });
    const s0 = await h.status();

    const d1 = seededBytes(1, 8192);
    await h.ddWriteOk(5 * CS + 4096, d1, { convs: ['fsync'] });
    const s1 = await h.status();
    assert.ok((s1.syncs ?? 0) > (s0.syncs ?? 0), `syncs ${s0.syncs} -> ${s1.syncs} after dd conv=fsync`);
    assert.ok((await readRange(h.image, 5 * CS + 4096, d1.length)).equals(d1));

    // O_DSYNC, several writes to new clusters, buffered and direct.
    const d2 = seededBytes(2, 3 * CS);
    await h.ddWriteOk(7 * CS, d2, { oflags: ['dsync'], bs: CS });
    const s2 = await h.status();
    assert.ok((s2.syncs ?? 0) > (s1.syncs ?? 0), `syncs ${s1.syncs} -> ${s2.syncs} after dd oflag=dsync`);
    await h.ddWriteOk(12 * CS, seededBytes(3, 8192), { oflags: ['dsync'], direct: true, bs: 4096 });
    const s3 = await h.status();
    assert.ok((s3.syncs ?? 0) > (s2.syncs ?? 0), `syncs ${s2.syncs} -> ${s3.syncs} after dd oflag=direct,dsync`);
    assert.ok((await readRange(h.image, 7 * CS, d2.length)).equals(d2));

    // The journal file itself (read offline while mounted: the live journal) lists the clusters.
    const offline = await h.changes(h.journal);
    assert.deepEqual([...clustersOfExtents(offline.extents, CS)], [5, 7, 8, 9, 12]);
    assert.equal(offline.trusted, true);
    const live = await h.changes();
    assert.deepEqual(live.extents, offline.extents);

    await h.unmount();
  });
}

test('ordered mode: after write + fsync the on-disk journal lists the cluster; a failing journal sync fails the fsync', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  await h.createImage(IMAGE_SIZE);
  await h.mount({ clusterSize: '64K', durability: 'ordered', testHooks: true });

  await h.ddWriteOk(3 * CS, seededBytes(4, 4096), { convs: ['fsync'] });
  const js = await h.status(h.journal);
  assert.equal(js.journalState, 'active', 'offline view of a live journal');
  assert.deepEqual([...clustersOfExtents((await h.changes(h.journal)).extents, CS)], [3]);

  // Ordered mode records the bit without a journal fdatasync, so the write itself succeeds; the
  // fsync must then sync the journal, and fails because it cannot.
  await h.injectJournalFault('datasync', 'EIO');
  const d = seededBytes(5, 4096);
  const r = await h.ddWrite(9 * CS, d, { convs: ['fsync'] });
  assert.notEqual(r.code, 0, `dd conv=fsync must fail when the journal cannot be synced: ${r.stderr}`);
  assert.match(r.stderr, /fsync.*Input\/output error/is);
  assert.ok((await readRange(h.image, 9 * CS, d.length)).equals(d), 'ordered mode: the write itself went through');
  assert.deepEqual([...clustersOfExtents((await h.changes(h.journal)).extents, CS)], [3, 9], 'the bit was written ahead of the data');
  const s = await h.status();
  assert.equal(s.lastError?.code, 'EIO');

  await h.injectJournalFault('none');
  await h.ddWriteOk(9 * CS, d, { convs: ['fsync'] });
  await h.unmount();
  const after = await h.status(h.journal);
  assert.equal(after.journalState, 'clean');
  assert.deepEqual([...clustersOfExtents((await h.changes(h.journal)).extents, CS)], [3, 9]);
});
