/**
 * A mount that fails after its journal was activated (the FUSE mount refused: fusermount and an
 * option /etc/fuse.conf does not allow) served nothing, so it must not leave the journal looking
 * like a daemon that died: the journal is closed clean, and the next mount starts as after an
 * unmount. (Left active, an ordered journal would be untrusted after the next reboot.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { e2e, TEST_TIMEOUT_MS } from './harness.js';
import type { JournalStatus, MountStatus } from '../../src/control/protocol.js';

const MiB = 1024 * 1024;

for (const durability of ['strict', 'ordered'] as const) {
  test(`${durability}: a mount refused after the journal was activated closes the journal clean`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const h = await e2e(t);
    if (!h) return;
    await h.createImage(16 * MiB);
    // A first mount with writes, so the journal has changes and history to keep.
    await h.mount({ durability, clusterSize: '64K' });
    await h.ioOk([`write:${5 * 65536}:4096:1`, 'fsync']);
    await h.unmount();

    const refused = await h.mount({ durability, testHooks: true, env: { TRACKFS_TEST_REFUSE_MOUNT: '1' } }).then(
      () => assert.fail('the refused mount succeeded'),
      (e: Error) => e.message,
    );
    assert.match(refused, /^trackfs mount exited [1-9]\d*: .*FUSE mount refused/);
    assert.doesNotMatch(refused, /\n\s+at /, `a stack trace: ${refused}`);
    assert.equal(h.mounted(), false, 'a refused mount left something mounted');

    const js = (await h.status(h.journal)) as JournalStatus;
    assert.equal(js.journalState, 'clean', 'the refused mount left the journal as a crash would');
    assert.equal(js.trusted, true, js.reason ?? '');
    assert.deepEqual((await h.changes(h.journal)).extents.map((e) => e.offset), [5 * 65536]);

    // The next mount is an ordinary one: no crash rules, the changes still there.
    await h.mount({ durability });
    const ms = (await h.status()) as MountStatus;
    assert.equal(ms.events.some((e) => /left active|crash|died/i.test(e)), false, ms.events.join('\n'));
    assert.deepEqual((await h.changes()).extents.map((e) => e.offset), [5 * 65536]);
    await h.unmount();
  });
}
