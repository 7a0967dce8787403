/**
 * End to end: when the journal cannot record a write, the write fails with EIO and its data never
 * reaches the image (write-ahead), while writes to clusters already recorded pass straight through.
 * Faults are injected into the daemon's journal I/O layer over the control socket
 * (TRACKFS_TEST_HOOKS=1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clustersOfExtents, e2e, readRange, TEST_TIMEOUT_MS } from './harness.js';
import { seededBytes } from './prng.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const IMAGE_SIZE = 16 * MiB;
const CS = 64 * KiB;

test('journal write/datasync faults fail new-cluster writes with EIO and keep their data out of the image', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  // Random content everywhere, so "unchanged" is a real comparison.
  await h.createImage(IMAGE_SIZE, [{ offset: 0, data: seededBytes(77, IMAGE_SIZE) }]);
  const original = (offset: number, length: number) => seededBytes(77, IMAGE_SIZE).subarray(offset, offset + length);
  const A = 3;
  const B = 10;
  const C = 20;
  await h.mount({ clusterSize: '64K', durability: 'strict', testHooks: true });

  const a1 = seededBytes(1, 4096);
  await h.ddWriteOk(A * CS, a1, { direct: true });
  assert.deepEqual([...clustersOfExtents((await h.changes()).extents, CS)], [A]);

  await h.injectJournalFault('write', 'EIO');

  // A is already recorded: the write does not need the journal and goes straight through.
  const a2 = seededBytes(2, 8192);
  await h.ddWriteOk(A * CS + 8192, a2, { direct: true });
  assert.ok((await readRange(h.image, A * CS + 8192, a2.length)).equals(a2), 'the write to recorded cluster A reached the image');

  // B is new: the journal cannot record it, so the write fails and the image keeps its bytes.
  const b1 = seededBytes(3, 4096);
  const rb = await h.io([`write:${B * CS + 4096}:4096:3`], { flags: ['direct'] });
  assert.equal(rb.errno, 'EIO', 'a write to a new cluster must fail with EIO while the journal cannot write');
  assert.ok((await readRange(h.image, B * CS, CS)).equals(original(B * CS, CS)), 'cluster B of the image is unchanged');

  let s = await h.status();
  assert.equal(s.state, 'active', 'a journal fault fails writes, not the mount');
  assert.ok(s.failedWrites >= 1, `failedWrites ${s.failedWrites}`);
  assert.equal(s.lastError?.code, 'EIO');
  const failedAfterWriteFault = s.failedWrites;

  // A datasync failure (strict mode: the commit includes it) fails new-cluster writes as well.
  await h.injectJournalFault('none');
  await h.injectJournalFault('datasync', 'ENOSPC');
  const rc = await h.io([`write:${C * CS}:4096:4`], { flags: ['direct'] });
  assert.equal(rc.errno, 'EIO', 'a write to a new cluster fails while the journal cannot sync: the journal\'s ENOSPC is EIO to the writer');
  assert.ok((await readRange(h.image, C * CS, CS)).equals(original(C * CS, CS)), 'cluster C of the image is unchanged');
  await h.ddWriteOk(A * CS + 16384, seededBytes(5, 4096), { direct: true });
  s = await h.status();
  assert.ok(s.failedWrites > failedAfterWriteFault, 'the datasync failure is counted');
  assert.equal(s.lastError?.code, 'ENOSPC');

  // Fault cleared: B can be written and is listed.
  await h.injectJournalFault('none');
  await h.ddWriteOk(B * CS + 4096, b1, { direct: true });
  assert.ok((await readRange(h.image, B * CS + 4096, b1.length)).equals(b1), 'the retried write to B reached the image');
  const listed = clustersOfExtents((await h.changes()).extents, CS);
  assert.ok(listed.has(A) && listed.has(B), `A and B listed: ${[...listed]}`);
  // C's write failed: listing it is allowed (conservative), anything else is not.
  assert.deepEqual([...listed].filter((c) => c !== A && c !== B && c !== C), []);

  await h.unmount();
  const js = await h.status(h.journal);
  assert.equal(js.journalState, 'clean', 'the journal was closed clean');
  assert.equal(js.trusted, true);
  const offline = clustersOfExtents((await h.changes(h.journal)).extents, CS);
  assert.ok(offline.has(A) && offline.has(B), `A and B listed offline: ${[...offline]}`);
  assert.deepEqual([...offline].filter((c) => c !== A && c !== B && c !== C), []);
});

test('inject-fault is refused without TRACKFS_TEST_HOOKS=1', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  await h.createImage(4 * MiB);
  await h.mount();
  await assert.rejects(h.injectJournalFault('write', 'EIO'), /test hooks are disabled/);
  await h.ddWriteOk(0, seededBytes(6, 4096), { direct: true });
  await h.unmount();
});
