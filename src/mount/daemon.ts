/**
 * The mount daemon: brings a mount up, serves it, and takes it down. It owns the lifecycle and
 * every handle (image, journal, control socket, FUSE).
 *
 * The image and journal handles ("the backing") can be let go and taken back while the FUSE mount
 * stays: eject (query-remove) releases them, resume (cancel-remove) reopens them, and the loss of
 * their volume or device releases them too. Releasing is one function, used by eject, device
 * loss and shutdown alike: stop I/O, drain (bounded), sync the image, commit and close the
 * journal, close the image. Each step is guarded on its own and bounded in time (a failing image
 * fsync must not skip the journal commit; a backing call that never returns must not stop the
 * daemon), and a watchdog bounds the whole shutdown.
 */
import { readdir, readFile, readlink, stat, unlink, realpath } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Durability } from '../journal/format.js';
import { openJournalForMount, type OpenedJournal } from '../journal/open.js';
import type { Journal } from '../journal/journal.js';
import { changesSince, type ChangesReport } from '../journal/changes.js';
import { formatCheckpointId } from '../journal/checkpoint-id.js';
import { ChangeTracker, UntrackedWrites, type WriteTracker } from '../tracker/tracker.js';
import { ImageFile, inspectImage, majorMinor, type ImageFacts } from '../volume/image.js';
import { Volume } from '../volume/volume.js';
import { buildFuseOps } from '../fuse/adapter.js';
import { mountFuse, type FuseHandle } from '../fuse/mount.js';
import { ControlServer } from '../control/server.js';
import type { ControlRequest } from '../control/protocol.js';
import { Lifecycle, type MountState } from './lifecycle.js';
import { MountWatch, type WatchedVolume } from './mount-watch.js';
import { ErrnoError, errno, errnoNameOf } from '../util/errno.js';
import { readMounts } from '../util/mountinfo.js';
import { ensureRuntimeDir, mountPaths, type MountPaths } from '../util/runtime.js';
import { writePrivateFile } from '../util/private-dir.js';
import { lockMountpoint } from './mountpoint-lock.js';
import { flushLogs, type Logger } from '../util/logger.js';
import { formatSizeShort } from '../util/size.js';
import { fsError, unreachable } from '../util/fs-errors.js';

export interface MountConfig {
  image: string;
  mountpoint: string;
  journal: string;
  clusterSize: number | null;
  durability: Durability;
  readOnly: boolean;
  allowOther: boolean;
  resetJournal: boolean;
  logFile: string | null;
  /** Bytes marked ahead of a long sequential write stream (0: exact marking). See ChangeTracker. */
  markAhead: number;
  /** Benchmark-only: serve without tracking, to measure what tracking costs. */
  trackingOff: boolean;
}

/** Tells whoever started the daemon that the mount is live, or why it could not be. */
export interface Readiness {
  ready(info: { pid: number; mountpoint: string }): void;
  failed(message: string): void;
}

export interface ShutdownSummary {
  journalClean: boolean;
  errors: string[];
}

const ORDERED_SYNC_INTERVAL_MS = 1000;
const SHUTDOWN_WATCHDOG_MS = 20_000;
const DRAIN_LIMIT_MS = 5_000;
/** Bound on each backing call during release: a vanished or stalled device must not hold us. */
const STEP_LIMIT_MS = 3_000;
/**
 * The image's fdatasync may legitimately take long (gigabytes of dirty pages): it is bounded by a
 * lack of progress of the device under it (sectors written), not by a fixed time, up to a cap.
 */
const SYNC_STALL_MS = 3_000;
const SYNC_CAP_MS = 120_000;
const FUSE_OP_TIMEOUT_MS = 30_000;
/** How long a checkpoint waits for writes in flight before giving up (writes stay paused meanwhile). */
const CHECKPOINT_DRAIN_MS = 10_000;
const MOUNT_INIT_TIMEOUT_MS = 15_000;
/** How long a non-lazy unmount waits for releases of descriptors closed just before it. */
const RELEASE_GRACE_MS = 1_000;
/** Errors that mean the device under the image is gone, not that one request failed. */
const DEVICE_GONE = new Set(['ENXIO', 'ENODEV', 'ENOTCONN', 'ESTALE', 'ENOMEDIUM', 'ESHUTDOWN', 'ECONNABORTED']);

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new ErrnoError('ETIMEDOUT', `${what} did not finish within ${ms} ms`)), ms); }),
  ]);
}

/** Sectors written so far by block device `majorMinor`, or null where that cannot be read. */
async function sectorsWritten(majorMinor: string): Promise<number | null> {
  try {
    const fields = (await readFile(`/sys/dev/block/${majorMinor}/stat`, 'utf8')).trim().split(/\s+/);
    const n = Number(fields[6]);
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

/**
 * Waits for `p` while the device under it makes progress: fails with ETIMEDOUT after `stallMs`
 * without a sector written, or after `capMs` in all. A device whose progress cannot be read (a
 * FUSE or network file system) gets `stallMs` in all.
 */
function whileProgressing<T>(p: Promise<T>, device: string, what: string, stallMs: number, capMs: number, onProgress: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const started = Date.now();
    let lastChange = started;
    let last: number | null = null;
    let polling = false;
    const timer = setInterval(() => {
      if (polling) return;
      polling = true;
      void sectorsWritten(device).then((n) => {
        polling = false;
        const now = Date.now();
        if (n !== null && last !== null && n !== last) {
          lastChange = now;
          onProgress();
        }
        last = n;
        if (now - lastChange > stallMs || now - started > capMs) {
          clearInterval(timer);
          reject(new ErrnoError('ETIMEDOUT', `${what} made no progress for ${now - lastChange} ms (${now - started} ms in all)`));
        }
      });
    }, 250);
    p.then((v) => { clearInterval(timer); resolve(v); }, (e) => { clearInterval(timer); reject(e); });
  });
}

async function checkMountpoint(path: string): Promise<string> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    throw unreachable('mountpoint', path, e);
  }
  if (!st.isDirectory()) throw new ErrnoError('ENOTDIR', `mountpoint ${path} is not a directory`);
  const real = await realpath(path);
  const mounts = await readMounts();
  const existing = mounts?.find((m) => m.mountPoint === real);
  if (existing) throw new ErrnoError('EBUSY', `mountpoint ${path} is already mounted (${existing.fsType} ${existing.source})`);
  if (!mounts) {
    const parent = await stat(dirname(real));
    if (parent.dev !== st.dev) throw new ErrnoError('EBUSY', `mountpoint ${path} is already mounted`);
  }
  const entries = await readdir(real).catch((e: unknown) => { throw fsError('mountpoint', `${path} is not readable, so it cannot be checked to be empty`, e); });
  if (entries.length > 0) throw new ErrnoError('ENOTEMPTY', `mountpoint ${path} is not empty`);
  return real;
}

/** Resolves once this process holds no /dev/fuse descriptor (Linux); never elsewhere. */
async function fuseConnectionGone(): Promise<void> {
  if (process.platform !== 'linux') return new Promise(() => {});
  for (;;) {
    const fds = await readdir('/proc/self/fd').catch(() => [] as string[]);
    const links = await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
    if (!links.includes('/dev/fuse')) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function sameFile(a: string, b: string): Promise<boolean> {
  try {
    const [x, y] = await Promise.all([stat(a), stat(b)]);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/** What status shows of a journal; kept after release so status still describes it. */
interface JournalView {
  header: ReturnType<Journal['headerSnapshot']>;
  changed: number;
  total: number;
}

function journalView(j: Journal): JournalView {
  return { header: j.headerSnapshot(), changed: j.cache.marked.countSet(), total: j.clusterCount };
}

/** The handles a mount holds on the image and the journal; absent while ejected or removed. */
interface Backing {
  facts: ImageFacts;
  image: ImageFile;
  opened: OpenedJournal;
}

export class MountDaemon {
  readonly lifecycle = new Lifecycle();
  private backing: Backing | null = null;
  /** What the backing was when it was last released: resume checks it gets the same back. */
  private released: { identity: string; generation: string; clean: boolean } | null = null;
  private releasing: Promise<boolean> | null = null;
  private volume: Volume | null = null;
  private control: ControlServer | null = null;
  private fuse: FuseHandle | null = null;
  private watch: MountWatch | null = null;
  private paths: MountPaths | null = null;
  /** The registration file is ours to remove (something else may sit at its path). */
  private registered = false;
  private realMountpoint = '';
  private shutdownPromise: Promise<ShutdownSummary> | null = null;
  /** Answers requests stuck longer than FUSE_OP_TIMEOUT_MS (fuse-native's own timer is off). */
  private stuckSweep: NodeJS.Timeout | null = null;
  /** Armed during shutdown; pushed back while a long image sync still makes progress. */
  private watchdog: NodeJS.Timeout | null = null;
  private journalFailures = 0;
  private commitsAtLastJournalLog = -1;
  private imageFailures = 0;
  private probing = false;
  private selfUnmounting = false;
  private resuming = false;
  /** A backing call timed out and may never return: a normal exit would wait for it forever. */
  private stuckBackingCalls = false;
  private readonly startedAt = Date.now();
  private readonly events: string[] = [];
  /** The journal as last seen, so status still describes it while the backing is released. */
  private lastJournalView: JournalView | null = null;

  constructor(private readonly config: MountConfig, private readonly log: Logger) {
    this.lifecycle.onTransition((t) => {
      this.log.info({ from: t.from, to: t.to, reason: t.reason }, `lifecycle ${t.from} -> ${t.to}: ${t.reason}`);
    });
  }

  /* ------------------------------------------------------------------ setup ---- */

  /** Brings the mount up. On failure, undoes what was done and throws a one-line ErrnoError. */
  async start(): Promise<void> {
    const c = this.config;
    try {
      this.realMountpoint = await checkMountpoint(c.mountpoint);
      const facts = await inspectImage(c.image);
      if (await sameFile(c.image, c.journal)) throw new ErrnoError('EINVAL', `journal ${c.journal} is the image itself`);
      this.paths = mountPaths(this.realMountpoint);
      ensureRuntimeDir();
      // One daemon per mountpoint; checked again under the lock (another may have mounted it since).
      const lockProblem = await lockMountpoint(this.paths.lock, this.realMountpoint);
      if (lockProblem) this.note(lockProblem);
      await checkMountpoint(c.mountpoint);

      this.volume = new Volume(facts.size, this.lifecycle, {
        journalFailed: (e) => this.journalFailed(e),
        imageFailed: (e, op) => this.imageFailed(e, op),
      }, c.readOnly);
      await this.attachBacking(facts, { resetJournal: c.resetJournal, clusterSize: c.clusterSize });

      this.control = await ControlServer.listen(this.paths.socket, (req) => this.handleControl(req), (e) => this.log.error({ err: e }, 'control socket error'));
      writePrivateFile(this.paths.info, JSON.stringify({ pid: process.pid, mountpoint: this.realMountpoint, image: facts.path, journal: c.journal, socket: this.paths.socket, logFile: c.logFile }) + '\n');
      this.registered = true;

      const ops = buildFuseOps(this.volume, { internalError: (op, e) => this.log.error({ err: e, op }, `INTERNAL ERROR in FUSE op ${op}`) }, facts.access);
      this.fuse = await withTimeout(
        mountFuse(ops, { mountpoint: this.realMountpoint, id: this.paths.id, allowOther: c.allowOther, readOnly: c.readOnly, opTimeoutMs: FUSE_OP_TIMEOUT_MS }),
        MOUNT_INIT_TIMEOUT_MS,
        'FUSE mount',
      );
      this.lifecycle.moveTo('active', 'mounted');
      this.stuckSweep = setInterval(() => {
        const n = this.volume?.expireStuck(FUSE_OP_TIMEOUT_MS / 1000) ?? 0;
        if (n === 0) return;
        this.stuckBackingCalls = true;
        this.log.error({ answered: n }, `answered ${n} request(s) stuck for ${FUSE_OP_TIMEOUT_MS / 1000} s with EIO (the image does not answer)`);
      }, 1000);
      this.stuckSweep.unref();
      const j = this.backing!.opened.journal;
      this.log.info({ image: facts.path, mountpoint: this.realMountpoint, journal: c.journal, durability: c.durability, clusterSize: j.clusterSize, trusted: j.state !== 'untrusted' }, 'mount is live');

      this.watch = new MountWatch(this.realMountpoint, `trackfs:${this.paths.id}`, {
        ownMountGone: () => void this.onOwnMountGone(),
        backingGone: (v) => void this.onBackingVolumeGone(v),
      });
      this.watch.start();
      await this.watchBacking();
    } catch (e) {
      this.log.error({ err: e }, `mount failed: ${(e as Error).message}`);
      await this.teardownAfterFailedStart();
      throw e;
    }
  }

  /**
   * Opens the image and the journal, judges the journal, makes it active, and hands both to the
   * volume. Used at mount and at resume.
   */
  private async attachBacking(facts: ImageFacts, opts: { resetJournal: boolean; clusterSize: number | null }): Promise<void> {
    const c = this.config;
    // The image first: its lock keeps a second mount of it from touching (or creating) a journal.
    const image = await ImageFile.open(facts, c.readOnly);
    if (image.lockProblem) this.note(image.lockProblem);
    let opened: OpenedJournal;
    try {
      opened = await openJournalForMount({ path: c.journal, image: facts, clusterSize: opts.clusterSize, resetJournal: opts.resetJournal, readOnly: c.readOnly });
    } catch (e) {
      await image.close().catch(() => {});
      throw e;
    }
    try {
      const { journal, verdict } = opened;
      for (const e of verdict.events) this.note(e);
      if (opened.created) this.note(`created journal ${c.journal} (cluster size ${formatSizeShort(journal.clusterSize)})`);
      if (verdict.newlyUntrusted) {
        this.log.warn({ reason: verdict.reason }, `journal is untrusted: ${verdict.reason}`);
        await journal.markUntrusted(verdict.reason).catch((e: unknown) => { throw fsError('cannot write journal', c.journal, e); });
      }
      if (!c.readOnly) {
        await journal.activate({ durability: c.durability, bootId: opened.bootId, pid: process.pid, imagePath: facts.path })
          .catch((e: unknown) => { throw fsError('cannot write journal', c.journal, e); });
        if (c.durability === 'ordered') journal.startAutoSync(ORDERED_SYNC_INTERVAL_MS, (e) => this.journalFailed(e));
      }
      const tracker: WriteTracker = c.trackingOff ? new UntrackedWrites() : new ChangeTracker(journal, c.markAhead);
      this.backing = { facts, image, opened };
      this.volume!.attach({ image, tracker });
    } catch (e) {
      await opened.journal.abandon();
      await image.close().catch(() => {});
      throw e;
    }
  }

  private async watchBacking(): Promise<void> {
    if (!this.watch || !this.backing) return;
    const journalDevice = majorMinor((await stat(this.config.journal, { bigint: true })).dev);
    const volumes: WatchedVolume[] = [{ what: 'image', device: this.backing.facts.hostDevice }];
    if (journalDevice !== this.backing.facts.hostDevice) volumes.push({ what: 'journal', device: journalDevice });
    const watched = await this.watch.watchBacking(volumes);
    this.log.debug({ watched }, 'watching the volumes that hold the image and the journal');
  }

  /* --------------------------------------------------------------- release ---- */

  /**
   * Lets go of the image and journal handles. Commits the journal and closes it clean when the
   * image could be synced and stat'ed; otherwise commits what it can and leaves the header active
   * (the next mount applies the crash rules). Returns whether the journal was closed clean.
   * Callers have already moved the lifecycle out of `active`, so no new request reaches the
   * backing while this runs.
   */
  private releaseBacking(why: string): Promise<boolean> {
    if (!this.releasing) {
      this.releasing = this.doRelease(why).finally(() => { this.releasing = null; });
    }
    return this.releasing;
  }

  private async doRelease(why: string): Promise<boolean> {
    const b = this.backing;
    if (!b) return true;
    const errors: string[] = [];
    const step = async (what: string, fn: () => Promise<unknown>, limitMs = STEP_LIMIT_MS, progressOf?: string): Promise<boolean> => {
      try {
        if (progressOf) await whileProgressing(fn(), progressOf, what, SYNC_STALL_MS, SYNC_CAP_MS, () => this.watchdog?.refresh());
        else await withTimeout(fn(), limitMs, what);
        return true;
      } catch (e) {
        if ((e as ErrnoError).code === 'ETIMEDOUT') this.stuckBackingCalls = true;
        errors.push(`${what}: ${(e as Error).message}`);
        this.log.error({ err: e, why }, `release: ${what} failed`);
        return false;
      }
    };
    this.watch?.unwatchBacking();
    const drained = !this.volume || (await step('drain in-flight I/O', () => this.volume!.drain(), DRAIN_LIMIT_MS));
    if (!drained) {
      const n = this.volume!.abortInFlight(-errno(this.lifecycle.ioError() ?? 'EIO'));
      this.log.warn({ answered: n }, `release: answered ${n} stuck request(s) without waiting for the backing store`);
    }
    const j = b.opened.journal;
    let mtimeNs: bigint | null = null;
    let clean = false;
    if (this.config.readOnly) {
      await step('journal close', () => j.abandon());
      clean = true;
    } else {
      const synced = await step('image fdatasync', () => b.image.datasync(), STEP_LIMIT_MS, b.facts.hostDevice);
      if (synced) await step('image stat', async () => { mtimeNs = await b.image.mtimeNs(); });
      if (mtimeNs === null) {
        // Without the image's final mtime a clean close would hide later changes: leave it active.
        await step('journal commit', () => j.close(null));
      } else {
        clean = await step('journal commit and close', () => j.close({ imageMtimeNs: mtimeNs! }));
      }
      if (!j.isClosed) await j.abandon();
    }
    await step('image close', () => b.image.close());
    this.volume?.detach();
    this.released = { identity: b.facts.identity, generation: j.generation, clean };
    this.lastJournalView = journalView(j);
    this.backing = null;
    this.log.info({ why, journalClean: clean, errors }, `released image and journal handles (${why})`);
    return clean;
  }

  /* ------------------------------------------------- eject, resume, removal ---- */

  /** Query-remove: drain, commit and close journal and image, keep the mount, refuse I/O. */
  async eject(reason: string): Promise<{ state: MountState; journalClean: boolean }> {
    if (this.lifecycle.state === 'ejected') return { state: 'ejected', journalClean: true };
    if (this.lifecycle.state !== 'active') throw new ErrnoError('EINVAL', `cannot eject: mount is ${this.lifecycle.state}`);
    this.lifecycle.moveTo('ejecting', reason);
    const clean = await this.releaseBacking(reason);
    // A device loss noticed meanwhile wins: the state is already `removed`.
    if (this.lifecycle.is('ejecting')) this.lifecycle.moveTo('ejected', clean ? `${reason}; journal closed clean` : `${reason}; journal left active`);
    return { state: this.lifecycle.state, journalClean: clean };
  }

  /** Cancel-remove: reopen the same image and journal and serve again. */
  async resume(): Promise<{ state: MountState; trusted: boolean; reason?: string }> {
    if (this.lifecycle.state === 'active') return { state: 'active', trusted: this.backing?.opened.journal.state !== 'untrusted' };
    if (this.lifecycle.state !== 'ejected') throw new ErrnoError('EINVAL', `cannot resume: mount is ${this.lifecycle.state}`);
    if (this.resuming) throw new ErrnoError('EBUSY', 'cannot resume: a resume is already under way');
    this.resuming = true;
    try {
      return await this.reattach();
    } finally {
      this.resuming = false;
    }
  }

  private async reattach(): Promise<{ state: MountState; trusted: boolean; reason?: string }> {
    const before = this.released;
    const facts = await inspectImage(this.config.image);
    if (before && facts.identity !== before.identity) {
      throw new ErrnoError('EINVAL', `cannot resume: ${this.config.image} is not the file that was ejected (it was replaced); unmount and mount again`);
    }
    if (facts.size !== this.volume!.size) throw new ErrnoError('EINVAL', `cannot resume: ${this.config.image} changed size while ejected`);
    await this.attachBacking(facts, { resetJournal: false, clusterSize: null });
    const j = this.backing!.opened.journal;
    if (before && j.generation !== before.generation && j.state !== 'untrusted') {
      const reason = 'journal was replaced while the mount was ejected';
      this.log.warn(reason);
      await j.markUntrusted(reason).catch((e) => this.journalFailed(e));
    }
    this.lifecycle.moveTo('active', 'resumed');
    await this.watchBacking();
    const h = j.headerSnapshot();
    return h.state === 'untrusted' ? { state: 'active', trusted: false, reason: h.reason } : { state: 'active', trusted: true };
  }

  /**
   * The device under the image is gone: answer everything in flight and everything after with
   * ENODEV, and commit what the journal can still take.
   */
  private deviceGone(reason: string): void {
    const s = this.lifecycle.state;
    if (s === 'removed' || s === 'unmounting' || s === 'unmounted') return;
    this.lifecycle.moveTo('removed', reason);
    const n = this.volume?.abortInFlight(-errno('ENODEV')) ?? 0;
    if (n > 0) this.log.warn({ answered: n }, `answered ${n} request(s) in flight with ENODEV`);
    void this.releaseBacking(reason);
  }

  private async onBackingVolumeGone(v: WatchedVolume): Promise<void> {
    const reason = `the volume holding the ${v.what} (device ${v.device}) left the mount table`;
    this.log.warn({ device: v.device, what: v.what }, reason);
    if (this.lifecycle.state !== 'active') {
      if (this.backing) await this.releaseBacking(reason);
      return;
    }
    // Still reachable through our descriptors (a lazy unmount): commit and let go, cleanly.
    this.lifecycle.moveTo('ejecting', reason);
    const clean = await this.releaseBacking(reason);
    if (this.lifecycle.is('ejecting')) {
      if (clean) this.lifecycle.moveTo('ejected', `${reason}; journal closed clean; 'trackfs resume' once it is back`);
      // The image's device gone is `removed` (ENODEV); only the journal unusable is `failed` (EIO).
      else if (v.what === 'journal') this.lifecycle.moveTo('failed', `${reason}; the journal could not be closed clean`);
      else this.lifecycle.moveTo('removed', `${reason}; the journal could not be closed clean`);
    }
  }

  private async onOwnMountGone(): Promise<void> {
    if (this.selfUnmounting) return;
    const summary = await this.shutdown('mount disappeared from the mount table (external umount)', { unmountFuse: false, lazy: false });
    // After a lazy umount, descriptors opened before keep sending requests (answered EIO now):
    // stay until the last one is closed, as the kernel expects of a live connection.
    const open = this.volume?.openCount ?? 0;
    if (open > 0) {
      this.log.info({ open }, `waiting for ${open} descriptor(s) still open on the detached volume`);
      // When the last one closes, the kernel may end the connection without sending its RELEASE:
      // libfuse then closes its /dev/fuse descriptor, which is the other sign to look for.
      await Promise.race([this.volume!.whenAllClosed(), fuseConnectionGone()]);
      this.log.info('the last descriptor on the detached volume is closed');
    }
    this.exit(summary.journalClean ? 0 : 1);
  }

  /* ------------------------------------------------------------- reporting ---- */

  private note(event: string): void {
    this.events.push(event);
    this.log.info(event);
  }

  /** Logged once per streak of failures (a streak ends when a commit succeeds); counted always. */
  private journalFailed(e: unknown): void {
    this.journalFailures++;
    const commits = this.backing?.opened.journal.stats.commits ?? 0;
    if (commits === this.commitsAtLastJournalLog) return;
    this.commitsAtLastJournalLog = commits;
    this.log.error({ err: e, code: errnoNameOf(e) }, `journal cannot record writes: ${(e as Error)?.message}; affected writes fail with EIO`);
  }

  /** Image I/O failed: a lost device takes the mount to `removed`; one failed request does not. */
  private imageFailed(e: unknown, op: string): void {
    const code = errnoNameOf(e);
    if (this.imageFailures++ === 0) this.log.error({ err: e, op, code }, `image ${op} failed: ${(e as Error)?.message}`);
    if (DEVICE_GONE.has(code)) return this.deviceGone(`image ${op} failed with ${code}: the device is gone`);
    if (code === 'EIO') void this.probeDevice(op);
  }

  /** After an EIO, one small read tells a bad sector from a device that is gone. */
  private async probeDevice(op: string): Promise<void> {
    const b = this.backing;
    if (!b || this.probing) return;
    this.probing = true;
    try {
      await withTimeout(new Promise<void>((resolve, reject) => {
        b.image.read(Buffer.alloc(512), 512, 0, (err) => (err ? reject(err) : resolve()));
      }), STEP_LIMIT_MS, 'device probe');
    } catch (e) {
      this.deviceGone(`image ${op} failed with EIO and the device does not answer (${errnoNameOf(e)})`);
    } finally {
      this.probing = false;
    }
  }

  status(): Record<string, unknown> {
    const c = this.config;
    const j = this.backing?.opened.journal;
    const view = j ? journalView(j) : this.lastJournalView;
    const h = view?.header;
    const stats = j?.stats;
    return {
      source: 'mount',
      state: this.lifecycle.state,
      stateReason: this.lifecycle.reason,
      stateSince: new Date(this.lifecycle.since).toISOString(),
      pid: process.pid,
      startedAt: new Date(this.startedAt).toISOString(),
      mountpoint: this.realMountpoint,
      image: c.image,
      imageSize: this.volume?.size ?? h?.imageSize ?? null,
      journal: c.journal,
      journalState: h?.state ?? null,
      backing: this.backing ? 'open' : 'released',
      durability: c.durability,
      readOnly: c.readOnly,
      tracking: !c.trackingOff,
      markAhead: c.markAhead,
      clusterSize: h?.clusterSize ?? null,
      totalClusters: view?.total ?? null,
      changedClusters: view?.changed ?? null,
      generation: h?.generation ?? null,
      epoch: h?.epoch ?? null,
      latestCheckpoint: h ? formatCheckpointId(h.generation, h.epoch - 1) : null,
      lastCheckpointAt: h?.lastCheckpointAt ? new Date(h.lastCheckpointAt).toISOString() : null,
      trusted: h ? h.state !== 'untrusted' : null,
      reason: h?.state === 'untrusted' ? h.reason : undefined,
      lastCommitAt: stats?.lastCommitAt ? new Date(stats.lastCommitAt).toISOString() : null,
      commits: stats?.commits ?? 0,
      syncs: stats?.syncs ?? 0,
      failedCommits: stats?.failedCommits ?? 0,
      failedWrites: this.journalFailures,
      imageErrors: this.imageFailures,
      lastError: stats?.lastError ? { ...stats.lastError, at: new Date(stats.lastError.at).toISOString() } : null,
      openHandles: this.volume?.openCount ?? 0,
      inFlight: this.volume?.pendingRequests ?? 0,
      events: this.events,
      logFile: c.logFile,
    };
  }

  changes(since: string | null): Promise<ChangesReport> {
    const j = this.backing?.opened.journal;
    if (!j) throw new ErrnoError('EIO', `the journal is closed (mount is ${this.lifecycle.state}); read it offline: trackfs changes ${this.config.journal}`);
    const h = j.headerSnapshot();
    return changesSince(j, since, { trusted: h.state !== 'untrusted', reason: h.reason });
  }

  /**
   * Ends the current epoch with no write straddling it: new writes wait at the gate, writes in
   * flight finish (their bits are then recorded in the closing epoch), the journal closes the
   * epoch durably, and the waiting writes go on into the next one.
   */
  async checkpoint(): Promise<Record<string, unknown>> {
    const b = this.backing;
    if (this.lifecycle.state !== 'active' || !b) {
      const hint = this.lifecycle.state === 'ejected' ? `; checkpoint the journal file instead: trackfs checkpoint ${this.config.journal}` : '';
      throw new ErrnoError(this.lifecycle.ioError() ?? 'EIO', `cannot checkpoint: mount is ${this.lifecycle.state}${hint}`);
    }
    if (this.config.trackingOff) throw new ErrnoError('EINVAL', 'cannot checkpoint: tracking is off on this mount');
    if (this.config.readOnly) throw new ErrnoError('EROFS', `cannot checkpoint: the mount is read-only and so is its journal; unmount it and checkpoint ${this.config.journal}, or mount without --read-only`);
    const j = b.opened.journal;
    const volume = this.volume!;
    const started = Date.now();
    volume.pauseWrites();
    try {
      await withTimeout(volume.whenWritesDrained(), CHECKPOINT_DRAIN_MS, 'writes in flight before the checkpoint');
      const r = await j.checkpoint({ state: 'active' });
      const id = formatCheckpointId(r.generation, r.checkpoint);
      if (r.rebased) this.note(`journal was untrusted (${r.rebasedFrom}); re-based on a new generation: checkpoint ${id}`);
      this.log.info({ checkpoint: id, rebased: r.rebased, pausedMs: Date.now() - started }, `checkpoint ${id}`);
      return { id, ...r, at: new Date(r.at).toISOString() };
    } catch (e) {
      this.log.error({ err: e }, `checkpoint failed: ${(e as Error).message}`);
      throw e;
    } finally {
      volume.resumeWrites();
    }
  }

  /* ------------------------------------------------------------- control ---- */

  private async handleControl(req: ControlRequest): Promise<unknown> {
    switch (req.op) {
      case 'status':
        return this.status();
      case 'changes':
        return this.changes(req.since ?? null);
      case 'checkpoint':
        return this.checkpoint();
      case 'sync': {
        const j = this.backing?.opened.journal;
        if (this.lifecycle.state !== 'active' || !j) throw new ErrnoError('EIO', `mount is ${this.lifecycle.state}`);
        await j.sync();
        return { synced: true };
      }
      case 'eject':
        return this.eject('eject requested');
      case 'resume':
        return this.resume();
      case 'unmount':
        return this.requestUnmount(req.lazy);
      case 'inject-fault': {
        const b = this.backing;
        if (process.env['TRACKFS_TEST_HOOKS'] !== '1' || !b) throw new ErrnoError('EPERM', 'test hooks are disabled');
        if (req.io === 'none') b.opened.io.clear();
        else b.opened.io.inject(req.io, req.code);
        this.log.warn({ io: req.io, code: req.code }, 'test hook: journal fault injection changed');
        return { injected: req.io };
      }
      default:
        throw new ErrnoError('EINVAL', `unknown control request ${(req as { op: string }).op}`);
    }
  }

  private async requestUnmount(lazy: boolean): Promise<ShutdownSummary> {
    if (this.shutdownPromise) return this.shutdownPromise;
    if (!lazy) {
      // FUSE sends RELEASE asynchronously: a descriptor closed just before this request may not be
      // counted down yet (`dd ... of=MNT/volume; trackfs unmount MNT` raced). Give it a moment.
      if (this.volume) await withTimeout(this.volume.whenAllClosed(), RELEASE_GRACE_MS, 'release of closed descriptors').catch(() => {});
      const open = this.volume?.openCount ?? 0;
      if (open > 0) throw new ErrnoError('EBUSY', `volume is open (${open} descriptor${open > 1 ? 's' : ''}); close it first or use --lazy`);
      // Unmount first: once the kernel has let go, no request can arrive after the journal is closed.
      // The mount watch will see the mount go; it must not take this for an external umount.
      this.selfUnmounting = true;
      const r = await this.fuse!.unmount(false, 10_000);
      if (!r.ok) this.selfUnmounting = false;
      if (!r.ok) throw new ErrnoError(r.busy ? 'EBUSY' : 'EIO', r.busy ? 'volume is busy (open or in use); close it first or use --lazy' : `unmount failed: ${r.message}`);
    }
    const summary = await this.shutdown(lazy ? 'unmount --lazy requested' : 'unmount requested', { unmountFuse: lazy, lazy });
    setTimeout(() => this.exit(summary.journalClean ? 0 : 1), 100);
    return summary;
  }

  /* ------------------------------------------------------------ teardown ---- */

  /**
   * Stops serving and releases everything, in reverse setup order. Idempotent. Does not exit: the
   * caller decides (a control reply may still have to go out).
   */
  shutdown(reason: string, opts: { unmountFuse: boolean; lazy: boolean }): Promise<ShutdownSummary> {
    if (!this.shutdownPromise) this.shutdownPromise = this.doShutdown(reason, opts);
    return this.shutdownPromise;
  }

  private async doShutdown(reason: string, opts: { unmountFuse: boolean; lazy: boolean }): Promise<ShutdownSummary> {
    const watchdog = this.watchdog = setTimeout(() => {
      this.log.fatal({ reason }, `shutdown made no progress for ${SHUTDOWN_WATCHDOG_MS} ms; exiting`);
      this.exit(3);
    }, SHUTDOWN_WATCHDOG_MS);
    const summary: ShutdownSummary = { journalClean: true, errors: [] };
    const step = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
      try {
        await withTimeout(fn(), STEP_LIMIT_MS * 3, what);
      } catch (e) {
        summary.errors.push(`${what}: ${(e as Error).message}`);
        this.log.error({ err: e }, `shutdown: ${what} failed`);
      }
    };
    if (this.lifecycle.can('unmounting')) this.lifecycle.moveTo('unmounting', reason);
    this.watch?.stop();
    if (this.stuckSweep) clearInterval(this.stuckSweep);
    summary.journalClean = this.backing || this.releasing ? await this.releaseBacking(reason) : (this.released?.clean ?? false);
    if (opts.unmountFuse && this.fuse) {
      await step('unmount', async () => {
        const r = await this.fuse!.unmount(opts.lazy, 10_000);
        if (!r.ok) throw new Error(r.message);
      });
    }
    if (this.control) await step('control socket close', () => this.control!.close());
    if (this.paths) await step('registration removal', () => unlink(this.paths!.info).catch(() => {}));
    if (this.lifecycle.can('unmounted')) this.lifecycle.moveTo('unmounted', summary.journalClean ? 'journal closed clean' : 'journal left active');
    clearTimeout(watchdog);
    this.log.info({ journalClean: summary.journalClean, errors: summary.errors }, 'shutdown complete');
    return summary;
  }

  private async teardownAfterFailedStart(): Promise<void> {
    this.watch?.stop();
    if (this.fuse) await this.fuse.unmount(true, 5_000).catch(() => {});
    if (this.control) await this.control.close().catch(() => {});
    if (this.paths && this.registered) await unlink(this.paths.info).catch(() => {});
    if (this.backing) {
      // Nothing was served: what the header says is still true, so leave the file as it is.
      await this.backing.opened.journal.abandon();
      await this.backing.image.close().catch(() => {});
      this.backing = null;
    }
  }

  exit(code: number): never {
    if (this.stuckBackingCalls) {
      // libuv joins its threadpool at exit, and a thread blocked on a stalled device never comes
      // back: process.exit would hang. Nothing is left to save (the journal is closed), so go now.
      this.log.warn({ code }, 'backing calls never returned; exiting with SIGKILL so the exit cannot hang');
      flushLogs();
      process.kill(process.pid, 'SIGKILL');
    }
    flushLogs();
    process.exit(code);
  }
}

/** Runs a daemon until it is told to stop. Signals are dismount requests. */
export async function runDaemon(config: MountConfig, log: Logger, readiness: Readiness): Promise<void> {
  const daemon = new MountDaemon(config, log);
  process.on('uncaughtException', (e) => {
    // A trackfs bug. The journal stays active on disk, so the next mount applies the crash rules.
    log.fatal({ err: e }, 'INTERNAL ERROR: uncaught exception; exiting');
    daemon.exit(70);
  });
  process.on('unhandledRejection', (e) => {
    log.fatal({ err: e }, 'INTERNAL ERROR: unhandled rejection; exiting');
    daemon.exit(70);
  });
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(sig, () => {
      log.info({ signal: sig }, `received ${sig}: unmounting`);
      void daemon.shutdown(`${sig} received`, { unmountFuse: true, lazy: true }).then((s) => daemon.exit(s.journalClean ? 0 : 1));
    });
  }
  try {
    await daemon.start();
  } catch (e) {
    readiness.failed((e as Error).message);
    daemon.exit(1);
  }
  readiness.ready({ pid: process.pid, mountpoint: config.mountpoint });
}
