/**
 * End to end (issue 14): the journal's own disk dies under a writer, without a reboot.
 *
 * The journal lives on its own XFS (a loop device over a file in the test's temp dir), the image
 * elsewhere. `xfs_io -x -c shutdown` without -f kills that file system without flushing its log, as
 * xfstests emulates a power cut: whatever the journal wrote since its last fdatasync is gone once
 * the file system is mounted again. trackfs must then refuse new writes and, after the unmounts and
 * the XFS remount (log recovery), the journal must be either untrusted with a reason that says so,
 * or complete: every cluster the writer got acknowledged listed. Rounds are repeated, since where
 * the failure falls relative to the once-a-second sync is chance.
 *
 * Also: the same with the daemon killed at the moment of the failure; strict mode stays complete
 * and trusted; a kill -9 alone (storage intact) stays trusted in ordered mode; and a clean unmount
 * and remount of the journal's file system after a kill -9 gives the documented verdict.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { clustersOfExtents, e2e, settleWithin, waitFor, withTimeout, type ChangesJson, type Harness } from './harness.js';
import { startLoopWriter, type LoopWriter } from './writer.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/** 4 KiB clusters over 256 MiB: 65536 clusters, three bitmap pages, so a round spans pages. */
const IMAGE_SIZE = 256 * MiB;
const CS = 4 * KiB;
const CLUSTERS = IMAGE_SIZE / CS;
/** A round stops starting new rounds after this long (the hard limit of a test is well above). */
const ROUNDS_BUDGET_MS = 45_000;
const TIMEOUT_MS = 120_000;

function xfsUnavailable(): string | null {
  const tools = ['/usr/sbin/mkfs.xfs', '/sbin/mkfs.xfs', '/usr/bin/mkfs.xfs'].some((p) => existsSync(p)) && ['/usr/sbin/xfs_io', '/sbin/xfs_io', '/usr/bin/xfs_io'].some((p) => existsSync(p));
  if (!tools) return 'xfsprogs is not installed (apt-get install xfsprogs)';
  if (!/\bxfs\b/.test(readFileSync('/proc/filesystems', 'utf8'))) return 'this kernel has no XFS (modprobe xfs)';
  return null;
}

/** An XFS on a loop device over a sparse file in the test's dir; detached at cleanup. */
class XfsDisk {
  readonly file: string;
  readonly mnt: string;
  private loop = '';
  private mountedNow = false;

  constructor(private readonly h: Harness, name: string) {
    this.file = join(h.dir, `${name}.xfs-image`);
    this.mnt = join(h.dir, name);
  }

  async create(): Promise<void> {
    const h = this.h;
    h.onCleanup(() => this.cleanup());
    await h.runOk('truncate', ['-s', '320M', this.file]);
    await h.runOk('mkfs.xfs', ['-q', '-f', this.file], { timeoutMs: 60_000 });
    this.loop = (await h.runOk('losetup', ['--find', '--show', '--', this.file])).stdout.trim();
    await mkdir(this.mnt);
    await this.mount();
  }

  async mount(): Promise<void> {
    await this.h.runOk('mount', ['-t', 'xfs', this.loop, this.mnt], { timeoutMs: 60_000 });
    this.mountedNow = true;
  }

  /**
   * A process killed with -9 drops its last references to files on this file system while the
   * kernel finishes its exit, a moment after the test sees it gone: a "busy" umount is retried for
   * a few seconds, and if it stays busy the error names who holds the file system.
   */
  async unmount(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const r = await this.h.run('umount', [this.mnt], { timeoutMs: 60_000 });
      if (r.code === 0) break;
      if (!/busy/.test(r.stderr) || attempt >= 50) {
        const holders = await this.h.run('fuser', ['-vm', this.mnt]).then((f) => f.stderr.trim(), () => 'fuser (psmisc) not installed');
        throw new Error(`umount ${this.mnt} exited ${r.code}: ${r.stderr.trim()}; held by: ${holders || 'nobody fuser sees'}`);
      }
      await new Promise((res) => setTimeout(res, 200));
    }
    this.mountedNow = false;
  }

  /** Kills the file system without flushing its log: unsynced writes are lost at the next mount. */
  async shutdown(): Promise<void> {
    await this.h.runOk('xfs_io', ['-x', '-c', 'shutdown', this.mnt]);
  }

  /** The disk "comes back": unmount the dead file system and mount it again (log recovery). */
  async remount(): Promise<void> {
    await this.unmount();
    await this.mount();
  }

  /** Runs at the harness's cleanup, when it no longer runs commands itself: what this disk made, only. */
  private async cleanup(): Promise<void> {
    if (this.mountedNow && !(await quiet('umount', [this.mnt]))) await quiet('umount', ['-l', this.mnt]);
    if (this.loop) await quiet('losetup', ['-d', this.loop]);
  }
}

/** Runs a command at cleanup; true when it succeeded. */
function quiet(cmd: string, args: string[]): Promise<boolean> {
  return new Promise((resolve) => execFile(cmd, args, { timeout: 30_000, killSignal: 'SIGKILL' }, (err) => resolve(!err)));
}

/** Starts a child-writer loop: 4 KiB at random clusters, each acknowledged offset reported. */
function startWriter(h: Harness, seed: number): LoopWriter {
  return startLoopWriter(h, h.volume, CS, CLUSTERS, seed, 4 * KiB);
}

/** Kills the writer if the failure did not stop it already, and waits for it. */
async function stopWriter(w: LoopWriter): Promise<void> {
  if (!w.hasExited()) w.child.kill('SIGKILL');
  await withTimeout(w.exited, 10_000, 'writer to exit');
  assert.equal(w.problem, null, `writer: ${w.problem}`);
}

type Verdict = 'complete' | 'untrusted';

/**
 * The rule of issue 14 for a recovered journal: untrusted with a reason about the journal's disk
 * or file system, or trusted with every acknowledged cluster listed.
 */
function judge(r: ChangesJson, acknowledged: number[], where: string): Verdict {
  if (!r.trusted) {
    assert.match(r.reason ?? '', /disk failed|file system was unmounted|storage lost/, `${where}: untrusted, but for another reason: ${r.reason}`);
    assert.deepEqual(r.extents, [{ offset: 0, length: IMAGE_SIZE }], `${where}: untrusted means the whole image`);
    return 'untrusted';
  }
  const listed = clustersOfExtents(r.extents, CS);
  const missing = [...new Set(acknowledged.map((o) => o / CS))].filter((c) => !listed.has(c));
  assert.deepEqual(missing.slice(0, 20), [], `${where}: trusted, yet ${missing.length} acknowledged cluster(s) of ${new Set(acknowledged).size} are not listed`);
  return 'complete';
}

/**
 * One round: a fresh journal on the XFS, a writer, the XFS shut down under it (and the daemon
 * killed at the same moment when `kill`), trackfs and the XFS unmounted, the XFS mounted again;
 * then the journal judged offline and by a mount.
 */
async function round(h: Harness, disk: XfsDisk, n: number, opts: { durability: 'strict' | 'ordered'; kill: boolean }): Promise<{ offline: Verdict; mounted: Verdict; acknowledged: number }> {
  const journal = join(disk.mnt, `round-${n}.trackfs`);
  const pid = await h.mount({ journal, clusterSize: '4K', durability: opts.durability });
  const writer = startWriter(h, 1000 + n);
  // Enough for several commits and at least one periodic sync, then a failure at a random moment.
  const target = 300 + Math.floor(Math.random() * 300);
  await waitFor(`${target} acknowledged writes`, () => {
    if (writer.hasExited()) throw new Error(`writer exited early: ${writer.errors.join('; ')}`);
    return writer.acknowledged.length >= target;
  }, 30_000, 5);
  if (opts.kill) {
    await Promise.all([disk.shutdown(), Promise.resolve().then(() => h.killDaemon(pid))]);
    await h.waitDaemonGone(pid);
    await settleWithin(writer.exited, 2_000);
    await stopWriter(writer);
    await h.waitMountGone();
  } else {
    await disk.shutdown();
    // trackfs refuses what it cannot record: the writer's next write to a new cluster fails.
    await settleWithin(writer.exited, 10_000);
    assert.ok(writer.hasExited(), 'the writer was not refused within 10 s of the journal\'s disk failing');
    assert.match(writer.errors.join(' '), /EIO/, `the writer is refused with EIO: ${writer.errors.join('; ')}`);
    await stopWriter(writer);
    const live = await h.status();
    if (opts.durability === 'ordered') {
      assert.equal(live.trusted, true, `a journal that kept its losses in a record stays trusted live: ${live.reason}`);
      // status says, in words, that the disk failed and where the clusters not yet synced are.
      const loss = live.durabilityLoss;
      assert.ok(loss?.record?.startsWith(h.stateDir), `status shows the durability record: ${JSON.stringify(loss)}`);
      const text = (await h.trackfsOk(['status', h.mnt])).stdout;
      assert.match(text, /disk failure +the journal's disk failed at \S+ before changes were synced \(.*\); \d+ cluster\(s\) kept in /);
    }
    // The journal cannot be closed clean on a dead disk: the CLI says so and exits 1.
    await h.trackfs(['unmount', h.mnt], { timeoutMs: 45_000 });
    await h.waitDaemonGone(pid, 30_000);
    await h.waitMountGone();
  }
  await disk.remount();
  const acknowledged = writer.acknowledged;
  const offline = judge(await h.changes(journal), acknowledged, `round ${n}, offline`);
  const offlineStatus = await h.status(journal);
  if (offline === 'untrusted') assert.match(String(offlineStatus.reason), /disk failed|file system was unmounted|storage lost/);
  else if (opts.durability === 'ordered' && !opts.kill) {
    assert.ok(offlineStatus.events.some((e) => /disk failed at .* before changes were synced.*were merged/.test(e)), `offline status names the merged record: ${JSON.stringify(offlineStatus.events)}`);
  }
  await h.mount({ journal });
  const mounted = judge(await h.changes(), acknowledged, `round ${n}, mounted`);
  if (offline === 'complete') assert.equal(mounted, 'complete', `round ${n}: offline complete, yet the mount says untrusted`);
  await h.unmount();
  // The mount made the merged clusters durable in the journal: the record is gone, they stay listed.
  assert.deepEqual(existsSync(h.stateDir) ? readdirSync(h.stateDir).filter((f) => f.endsWith('.loss')) : [], [], 'no durability record is left once the journal holds its bits');
  judge(await h.changes(journal), acknowledged, `round ${n}, after the remount's clean unmount`);
  return { offline, mounted, acknowledged: acknowledged.length };
}

async function rounds(t: { diagnostic(s: string): void }, h: Harness, disk: XfsDisk, opts: { durability: 'strict' | 'ordered'; kill: boolean; max: number }): Promise<Verdict[]> {
  await h.createImage(IMAGE_SIZE);
  const started = Date.now();
  const verdicts: Verdict[] = [];
  for (let n = 1; n <= opts.max && (n <= 2 || Date.now() - started < ROUNDS_BUDGET_MS); n++) {
    const r = await round(h, disk, n, opts);
    verdicts.push(r.offline);
    t.diagnostic(`round ${n}: ${r.acknowledged} writes acknowledged; offline ${r.offline}, mounted ${r.mounted}`);
  }
  return verdicts;
}

async function setup(t: Parameters<typeof e2e>[0]): Promise<{ h: Harness; disk: XfsDisk } | null> {
  const why = xfsUnavailable();
  if (why) {
    t.skip(why);
    return null;
  }
  const h = await e2e(t);
  if (!h) return null;
  const disk = new XfsDisk(h, 'xfs');
  await disk.create();
  return { h, disk };
}

test('ordered mode, the journal\'s disk dies under a writer: the recovered journal is complete or untrusted, every round', { timeout: TIMEOUT_MS }, async (t) => {
  const s = await setup(t);
  if (!s) return;
  const verdicts = await rounds(t, s.h, s.disk, { durability: 'ordered', kill: false, max: 5 });
  // With the daemon alive to keep its record, the journal stays trusted and complete.
  assert.deepEqual(verdicts, verdicts.map(() => 'complete'));
});

test('ordered mode, the journal\'s disk dies and the daemon is killed at that moment: complete or untrusted, every round', { timeout: TIMEOUT_MS }, async (t) => {
  const s = await setup(t);
  if (!s) return;
  await rounds(t, s.h, s.disk, { durability: 'ordered', kill: true, max: 5 });
});

test('strict mode, the journal\'s disk dies under a writer: complete and trusted, every round', { timeout: TIMEOUT_MS }, async (t) => {
  const s = await setup(t);
  if (!s) return;
  const verdicts = await rounds(t, s.h, s.disk, { durability: 'strict', kill: false, max: 3 });
  assert.deepEqual(verdicts, verdicts.map(() => 'complete'));
});

test('ordered mode, kill -9 with the storage intact stays trusted; a remount of the journal\'s file system afterwards makes it untrusted', { timeout: TIMEOUT_MS }, async (t) => {
  const s = await setup(t);
  if (!s) return;
  const { h, disk } = s;
  await h.createImage(IMAGE_SIZE);
  const journal = join(disk.mnt, 'crash.trackfs');
  const pid = await h.mount({ journal, clusterSize: '4K', durability: 'ordered' });
  const writer = startWriter(h, 77);
  await waitFor('400 acknowledged writes', () => writer.acknowledged.length >= 400 || writer.hasExited(), 30_000, 5);
  h.killDaemon(pid);
  await h.waitDaemonGone(pid);
  await settleWithin(writer.exited, 2_000);
  await stopWriter(writer);
  await h.waitMountGone();

  // A process crash alone: the page cache kept every bit; trusted and complete.
  const offline = await h.changes(journal);
  assert.equal(offline.trusted, true, `kill -9 alone, same boot, same mount of the journal's file system: ${offline.reason}`);
  assert.equal(judge(offline, writer.acknowledged, 'after kill -9'), 'complete');

  // The journal's file system unmounted (cleanly) and mounted again: its page cache is gone and
  // trackfs cannot tell this from a failed disk. Documented: untrusted, full backup next time.
  await disk.remount();
  const after = await h.changes(journal);
  assert.equal(after.trusted, false);
  assert.match(after.reason ?? '', /file system was unmounted or its disk failed/);
  const st = await h.status(journal);
  assert.equal(st.trusted, false);
  assert.match(String(st.reason), /file system was unmounted or its disk failed/);
  // A mount agrees, and records it.
  await h.mount({ journal });
  const mounted = await h.changes();
  assert.equal(mounted.trusted, false);
  await h.unmount();
  assert.equal((await h.status(journal)).trusted, false, 'untrusted is sticky');
});

test('ordered mode, kill -9 and the journal mounted again by trackfs before its file system is remounted: trusted (the identity is renewed at activation)', { timeout: TIMEOUT_MS }, async (t) => {
  const s = await setup(t);
  if (!s) return;
  const { h, disk } = s;
  await h.createImage(IMAGE_SIZE);
  const journal = join(disk.mnt, 'crash.trackfs');
  const pid = await h.mount({ journal, clusterSize: '4K', durability: 'ordered' });
  const writer = startWriter(h, 78);
  await waitFor('200 acknowledged writes', () => writer.acknowledged.length >= 200 || writer.hasExited(), 30_000, 5);
  h.killDaemon(pid);
  await h.waitDaemonGone(pid);
  await settleWithin(writer.exited, 2_000);
  await stopWriter(writer);
  await h.waitMountGone();
  // Recovered by a mount on the same mount of the file system, then closed clean.
  await h.mount({ journal });
  assert.equal((await h.changes()).trusted, true);
  await h.unmount();
  await disk.remount();
  const r = await h.changes(journal);
  assert.equal(judge(r, writer.acknowledged, 'after a clean close and a remount'), 'complete');
  assert.equal(r.trusted, true, 'a journal closed clean does not depend on its file system staying mounted');
});
