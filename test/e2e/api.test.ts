/**
 * The Node.js API used the way a user's node:test suite uses it: `import { mount } from 'trackfs'`
 * (the package's own name, through package.json "exports"), then plain fs calls on the volume.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mount } from 'trackfs';
import { e2e, TEST_TIMEOUT_MS, writeRange } from './harness.js';

test('mount, write, checkpoint, changes, status, eject, resume, unmount', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  // The daemon and the control sockets of this test live in its own directories.
  process.env['TRACKFS_RUNTIME_DIR'] = h.runtimeDir;
  process.env['TRACKFS_STATE_DIR'] = h.stateDir;
  await h.createImage(16 * 1024 * 1024);

  const disk = await mount(h.image, h.mnt, { clusterSize: '4K', markAhead: '0' });
  assert.equal(disk.volume, `${h.mnt}/volume`);
  await writeRange(disk.volume, 0, randomBytes(100));
  const id = await disk.checkpoint();
  assert.match(id, /^[0-9a-f]{12}:1$/);
  await writeRange(disk.volume, 40960, randomBytes(5000));

  const since = await disk.changes({ since: id });
  assert.deepEqual(since.extents, [{ offset: 40960, length: 8192 }]);
  assert.equal(since.trusted, true);
  const all = await disk.changes();
  assert.deepEqual(all.extents, [{ offset: 0, length: 4096 }, { offset: 40960, length: 8192 }]);
  const between = await disk.changes({ since: id.replace(/:1$/, ':0'), until: id });
  assert.deepEqual(between.extents, [{ offset: 0, length: 4096 }]);

  const status = await disk.status();
  assert.equal(status.state, 'active');
  assert.equal(status.image, h.image);
  assert.equal((await disk.eject()).state, 'ejected');
  await assert.rejects(writeRange(disk.volume, 0, Buffer.alloc(1)), 'I/O fails while ejected');
  assert.equal((await disk.resume()).state, 'active');

  await disk.unmount();
  assert.equal(h.mounted(), false);
  // The journal is closed clean, and knows what was written.
  assert.equal((await h.status(h.journal)).journalState, 'clean');
});

test('a mount that cannot be made rejects with the one-line reason', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  process.env['TRACKFS_RUNTIME_DIR'] = h.runtimeDir;
  process.env['TRACKFS_STATE_DIR'] = h.stateDir;
  await assert.rejects(mount(`${h.dir}/missing.img`, h.mnt), (e: Error) => /missing\.img.*does not exist/.test(e.message) && !e.message.includes('\n'));
  await h.createImage(1024 * 1024);
  await assert.rejects(mount(h.image, h.mnt, { clusterSize: '3K' }), /bad cluster size '3K'/);
});
