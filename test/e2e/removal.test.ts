/**
 * End to end: the volume or device under the image goes away while a writer runs.
 *  - image and journal on a loop-mounted ext4 that is lazily unmounted (a desktop's forced
 *    eject): trackfs commits, closes everything it holds there, and the loop device really
 *    detaches; the journal, remounted, is clean and lists every acknowledged write;
 *  - the image served by a small FUSE helper that is killed (its clients get ENOTCONN): pending
 *    and later I/O answered at once with ENODEV, status says removed, the journal (elsewhere)
 *    lists every acknowledged write;
 *  - the helper stalled (SIGSTOP) under a native write (on the native path): unmount still
 *    completes within the watchdog bound, and the writer is answered;
 *  - the helper stalled (under a native write, on the native path), then an eject: resume fails at
 *    once saying why (the stuck call, or the image not answering a stat), not a hang and not
 *    "in use by another mount"; it resumes once the helper answers again.
 * Loop devices, ext4 mounts and helpers are the test's own and are torn down by it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { clustersOfExtents, e2e, sleep, TEST_TIMEOUT_MS, waitFor, withTimeout, type Harness } from './harness.js';
import { startLoopWriter, waitForWrites } from './writer.js';
import { mountedAt, startBackingDevice } from './backing-device.js';
import type { MountStatus, ResumeReply } from '../../src/control/protocol.js';
import { fastPathStatus } from '../../src/native/fastpath.js';

const MiB = 1024 * 1024;
const CS = 64 * 1024;
const IMAGE_SIZE = 32 * MiB;

/** A loop-mounted ext4 of the test's own, torn down by the harness after trackfs is unmounted. */
function makeUsbStick(h: Harness): { fsImage: string; dir: string; attach(): string } {
  const fsImage = join(h.dir, 'usb.ext4');
  const dir = join(h.dir, 'usb');
  mkdirSync(dir);
  execFileSync('truncate', ['-s', '96M', fsImage]);
  execFileSync('mkfs.ext4', ['-q', '-F', fsImage]);
  const loops: string[] = [];
  h.onCleanup(() => {
    if (mountedAt(dir)) execFileSync('umount', ['-l', dir]);
    for (const l of loops) {
      try { execFileSync('losetup', ['-d', l], { stdio: 'ignore' }); } catch { /* already gone */ }
    }
  });
  return {
    fsImage,
    dir,
    attach: () => {
      const loop = execFileSync('losetup', ['-f', '--show', fsImage]).toString().trim();
      loops.push(loop);
      execFileSync('mount', [loop, dir]);
      return loop;
    },
  };
}

const loopAttached = (loop: string) => existsSync(`/sys/block/${basename(loop)}/loop/backing_file`);

test('umount -l of the volume holding image and journal: handles released, loop detaches, journal clean and complete', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  const usb = makeUsbStick(h);
  const loop = usb.attach();
  const image = join(usb.dir, 'disk.img');
  execFileSync('truncate', ['-s', String(IMAGE_SIZE), image]);
  await h.mount({ image });

  const w = startLoopWriter(h, h.volume, CS, IMAGE_SIZE / CS, 41);
  await waitForWrites(w, 100);
  const t0 = Date.now();
  execFileSync('umount', ['-l', usb.dir]);
  await waitFor('trackfs to notice and release', async () => (await h.status()).state !== 'active', 5_000);
  const noticedMs = Date.now() - t0;
  const s = await h.status();
  assert.equal(s.state, 'ejected', `state ${s.state}: ${s.stateReason}`);
  execFileSync('losetup', ['-d', loop]);
  await waitFor(`${loop} to detach (nothing holds the file system)`, () => !loopAttached(loop), 5_000);
  const detachedMs = Date.now() - t0;
  t.diagnostic(`umount -l -> ejected in ${noticedMs} ms; -> loop device detached in ${detachedMs} ms`);

  await withTimeout(w.exited, 10_000, 'the writer to stop after its write was refused');
  assert.equal(w.failure?.code, 'EIO');
  const acknowledged = new Set(w.acknowledged.map((o) => o / CS));

  usb.attach();
  const offline = await h.status(`${image}.trackfs`);
  assert.equal(offline.journalState, 'clean');
  const listed = clustersOfExtents((await h.changes(`${image}.trackfs`)).extents, CS);
  for (const c of acknowledged) assert.ok(listed.has(c), `acknowledged cluster ${c} missing from the journal`);
  // The medium is back: resume serves again and keeps tracking.
  const re = await h.trackfsOk(['resume', h.mnt, '--json']);
  assert.equal((JSON.parse(re.stdout) as ResumeReply).trusted, true);
  await h.unmount();
});

test('backing device killed mid-write: pending and later I/O get ENODEV at once, status removed, journal complete', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  const backing = await startBackingDevice(h, IMAGE_SIZE);
  await h.mount({ image: backing.image, journal: h.journal });
  const w = startLoopWriter(h, h.volume, CS, IMAGE_SIZE / CS, 43);
  await waitForWrites(w, 100);

  const killedAt = Date.now();
  process.kill(backing.pid, 'SIGKILL');
  await withTimeout(w.exited, 5_000, 'the writer to get its error');
  assert.ok(w.failure, 'the writer saw no error');
  t.diagnostic(`writer's pending/next write answered ${w.failure.at - killedAt} ms after the kill, with ${w.failure.code}`);
  assert.equal(w.failure.code, 'ENODEV');

  const s = await h.status();
  assert.equal(s.state, 'removed');
  const later = Date.now();
  const r = await h.io(['read:0:4096']);
  t.diagnostic(`a later read answered in ${Date.now() - later} ms (a child process included)`);
  assert.equal(r.errno, 'ENODEV', `a later read: ${r.failedStep} ${r.errno}`);

  // The journal lives elsewhere: every acknowledged write is in it (it stays active: crash rules).
  const listed = clustersOfExtents((await h.changes(h.journal)).extents, CS);
  for (const o of w.acknowledged) assert.ok(listed.has(o / CS), `acknowledged cluster ${o / CS} missing`);
  const unmount = await h.trackfs(['unmount', h.mnt]);
  assert.match(unmount.stderr, /left active/);
  assert.equal(h.mounted(), false);
});

const nativePath = fastPathStatus().available;
test(`backing device stalled (stops answering)${nativePath ? ', a native write stuck on it' : ''}: unmount completes within the watchdog bound, the writer is answered`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  const backing = await startBackingDevice(h, IMAGE_SIZE);
  const pid = await h.mount({ image: backing.image, journal: h.journal });
  // 16 clusters: after their first touches the rewrites are served natively (where it can), so
  // the call the stall catches is a native one, which JavaScript cannot answer, and the daemon
  // still holds the image when it forks fusermount.
  const w = startLoopWriter(h, h.volume, CS, 16, 44);
  await waitForWrites(w, 50);
  const nativeWrites = async () => ((await h.status()) as MountStatus).dataPath?.native?.writes ?? 0;
  if (nativePath) await waitFor('native writes', async () => (await nativeWrites()) > 20, 20_000);
  process.kill(backing.pid, 'SIGSTOP');
  await sleep(300);
  // The daemon keeps answering status while a backing call hangs.
  assert.equal((await withTimeout(h.status(), 5_000, 'status while stalled')).state, 'active');
  const t0 = Date.now();
  await withTimeout(h.trackfs(['unmount', '--lazy', h.mnt], { timeoutMs: 40_000 }), 40_000, 'unmount of a stalled mount');
  await h.waitDaemonGone(pid, 5_000);
  t.diagnostic(`unmount --lazy of a stalled mount took ${Date.now() - t0} ms (watchdog bound 20000 ms)`);
  assert.equal(h.mounted(), false);
  await withTimeout(w.exited, 10_000, 'the writer to be answered');
  // Whatever was acknowledged is recorded in the journal, which lives on a healthy disk.
  const listed = clustersOfExtents((await h.changes(h.journal)).extents, CS);
  for (const o of w.acknowledged) assert.ok(listed.has(o / CS), `acknowledged cluster ${o / CS} missing`);
});

test(`eject on a stalled device${nativePath ? ', a native write stuck on it' : ''}: resume says why it cannot, at once, and works once the device answers`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  const backing = await startBackingDevice(h, IMAGE_SIZE);
  await h.mount({ image: backing.image, journal: h.journal });
  // 16 clusters: after their first touches, the writer's rewrites are served natively (if it can).
  const w = startLoopWriter(h, h.volume, CS, 16, 46);
  await waitForWrites(w, 50);
  const nativeWrites = async () => ((await h.status()) as MountStatus).dataPath?.native?.writes ?? 0;
  if (nativePath) await waitFor('native writes', async () => (await nativeWrites()) > 20, 20_000);
  process.kill(backing.pid, 'SIGSTOP');
  h.beforeUnmount(() => { try { process.kill(backing.pid, 'SIGCONT'); } catch { /* gone */ } });
  await sleep(300);

  const eject = await withTimeout(h.trackfs(['eject', h.mnt], { timeoutMs: 40_000 }), 40_000, 'eject of a stalled mount');
  t.diagnostic(`eject: exit ${eject.code}: ${eject.stderr.trim()}`);
  assert.equal((await h.status()).state, 'ejected');
  // Not a hang, and not "in use by another trackfs mount": with a native call stuck, the module
  // still holds the image; without one, the image does not answer a stat.
  const early = await withTimeout(h.trackfs(['resume', h.mnt], { timeoutMs: 20_000 }), 20_000, 'resume while stalled');
  assert.notEqual(early.code, 0);
  assert.match(early.stderr, nativePath
    ? /a native call on .* has not returned since the release \(the device does not answer\)/
    : /cannot resume: .* does not answer \(a stat of it took over 3 s\)/);
  assert.doesNotMatch(early.stderr, /another trackfs mount/);
  assert.equal((await h.status()).state, 'ejected');

  process.kill(backing.pid, 'SIGCONT');
  await withTimeout(w.exited, 15_000, 'the writer to be answered');
  const late = await h.trackfsOk(['resume', h.mnt, '--json']);
  assert.equal((JSON.parse(late.stdout) as ResumeReply).state, 'active');
  // Serving and tracking again (natively through a new binding, where it can).
  const again = startLoopWriter(h, h.volume, CS, 16, 47);
  await waitForWrites(again, 40);
  again.child.kill('SIGKILL');
  await again.exited;
  const listed = clustersOfExtents((await h.changes(h.mnt)).extents, CS);
  for (const o of again.acknowledged) assert.ok(listed.has(o / CS), `cluster ${o / CS} written after the resume is not listed`);
});
