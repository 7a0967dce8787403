/**
 * The native data path's TypeScript API (src/native/fastpath.ts) against the real addon, without a
 * mount: lifecycle refusals, the page geometry it shares with the journal, the shared stream
 * follower (it must follow exactly as ChangeTracker does), and the mount options it contributes.
 * The requests themselves are proven through a real mount in test/e2e/native-module.test.ts and in
 * C in native/test/fastpath-core-test.c (test/unit/native-core.test.ts).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync } from 'node:fs';
import fc from 'fast-check';
import { createFastPath, fastPathPageBytes, fastPathStatus, type FastPath } from '../../src/native/fastpath.js';
import { PAGE_BITMAP_BYTES } from '../../src/journal/format.js';
import { Journal } from '../../src/journal/journal.js';
import { ChangeTracker } from '../../src/tracker/tracker.js';
import { fuseOptionString } from '../../src/fuse/mount.js';
import { MemoryIo } from './helpers/memory-io.js';

const status = fastPathStatus();
const skip = status.available ? false : `no native data path here: ${status.reason}`;
const KiB = 1024;
const MiB = 1024 * KiB;

function withFastPath(fn: (fp: FastPath, fd: number) => Promise<void> | void): () => Promise<void> {
  return async () => {
    const fp = createFastPath()!;
    const fd = openSync('/dev/null', 'r+');
    try {
      await fn(fp, fd);
    } finally {
      fp.setGates({ read: false, write: false });
      fp.dispose();
      closeSync(fd);
    }
  };
}

const binding = (fd: number) => ({ fd, size: 64 * MiB, clusterSize: 64 * KiB, readOnly: false, path: '/volume', markAhead: { bytes: 0, after: 4 * MiB } });

describe('native data path API', { skip }, () => {
  test('its bitmap pages have the journal page geometry', () => {
    assert.equal(fastPathPageBytes(), PAGE_BITMAP_BYTES);
  });

  test('gates open only on a binding; attach and detach only while closed and drained', withFastPath(async (fp, fd) => {
    assert.throws(() => fp.setGates({ read: true, write: false }), { code: 'EINVAL' });
    fp.attach(binding(fd));
    assert.throws(() => fp.attach(binding(fd)), { code: 'EBUSY' });
    fp.setGates({ read: true, write: true });
    assert.throws(() => fp.detach(), { code: 'EBUSY' });
    assert.throws(() => fp.clearRecorded(), { code: 'EBUSY' });
    // Drained means closed and drained: with the gate open the wait runs to its bound.
    assert.equal(await fp.drain('writes', 30), false);
    fp.setGates({ read: true, write: false });
    assert.equal(await fp.drain('writes', 10_000), true);
    fp.clearRecorded();
    assert.equal(await fp.drain('all', 30), false, 'the read gate is still open');
    fp.setGates({ read: false, write: false });
    assert.equal(await fp.drain('all', 10_000), true);
    fp.detach();
    assert.throws(() => fp.detach(), { code: 'EINVAL' });
  }));

  test('a recorded page must be one whole journal page', withFastPath((fp, fd) => {
    fp.attach(binding(fd));
    fp.orRecordedPage(0, new Uint8Array(PAGE_BITMAP_BYTES).fill(0xff));
    assert.throws(() => fp.orRecordedPage(0, new Uint8Array(PAGE_BITMAP_BYTES - 1)), { code: 'EINVAL' });
    assert.throws(() => fp.orRecordedPage(1, new Uint8Array(PAGE_BITMAP_BYTES)), { code: 'EINVAL' }); // 64 MiB / 64 KiB = 1024 clusters: one page
  }));

  test('counters start at zero; a disposed fast path refuses every call', () => {
    const fp = createFastPath()!;
    const c = fp.counters();
    assert.deepEqual(c, {
      reads: 0, writes: 0, readBytes: 0, writtenBytes: 0, forwardedReads: 0, forwardedWrites: 0,
      forwarded: { gate: 0, unrecorded: 0, range: 0, io: 0, handoff: 0, other: 0 },
      inFlightReads: 0, inFlightWrites: 0, completed: 0, lastWriteAtMs: 0,
    });
    fp.dispose();
    fp.dispose();
    assert.throws(() => fp.counters(), /released/);
  });

  test('each fast path has its own id and mount options that fuseOptionString accepts', withFastPath((fp) => {
    const other = createFastPath()!;
    try {
      assert.notEqual(fp.id, other.id);
      assert.deepEqual(fp.mountOptions, ['modules=trackfs', `trackfs_fastpath=${fp.id}`]);
      const s = fuseOptionString({ mountpoint: '/m', id: 'x', allowOther: false, readOnly: false, extraOptions: fp.mountOptions });
      assert.match(s, new RegExp(`,modules=trackfs,trackfs_fastpath=${fp.id}$`));
      for (const bad of ['modules=a,b', 'fsname=/etc/passwd', 'x y', '']) {
        assert.throws(() => fuseOptionString({ mountpoint: '/m', id: 'x', allowOther: false, readOnly: false, extraOptions: [bad] }), { code: 'EINVAL' });
      }
    } finally {
      other.dispose();
    }
  }));

  test('property: the shared follower follows exactly as ChangeTracker.follow', async () => {
    const CS = 64 * KiB;
    // Several interleaved sequential streams (the follower's reason to exist) and scattered writes.
    const writes = fc.array(
      fc.oneof(
        fc.record({ stream: fc.integer({ min: 0, max: 5 }), length: fc.constantFrom(4 * KiB, 128 * KiB, 1 * MiB) }),
        fc.record({ offset: fc.integer({ min: 0, max: 60 * MiB }), length: fc.integer({ min: 1, max: 256 * KiB }) }),
      ),
      { minLength: 1, maxLength: 300 },
    );
    await fc.assert(fc.asyncProperty(writes, async (ws) => {
      const j = await Journal.create(new MemoryIo(), { imageSize: 64 * MiB, clusterSize: CS, imagePath: '/i', now: 1 });
      const tracker = new ChangeTracker(j, MiB);
      const jsFollow = (tracker as unknown as { follow(o: number, l: number): number }).follow.bind(tracker);
      const fp = createFastPath()!;
      try {
        const ends = [0, 7 * MiB, 15 * MiB, 23 * MiB, 31 * MiB, 39 * MiB];
        for (const w of ws) {
          let offset: number;
          if ('stream' in w) {
            offset = ends[w.stream]!;
            ends[w.stream] = offset + w.length;
          } else {
            offset = w.offset;
          }
          assert.equal(fp.follow(offset, w.length), jsFollow(offset, w.length), `follow(${offset}, ${w.length})`);
        }
      } finally {
        fp.dispose();
      }
    }), { numRuns: 200 });
  });
});
