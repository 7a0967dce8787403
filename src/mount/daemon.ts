/**
 * The mount daemon: brings a mount up, serves it, and takes it down. It owns the lifecycle and
 * every handle (image, journal, control socket, FUSE). Setup records how far it got so teardown
 * after a partial setup is safe; teardown runs in reverse order, each step guarded on its own (a
 * failing image fsync must not skip the journal commit), under a watchdog that exits whatever
 * happens.
 */
import { readdir, stat, writeFile, unlink, realpath } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Durability } from '../journal/format.js';
import { openJournalForMount, type OpenedJournal } from '../journal/open.js';
import { changesReport, type ChangesReport } from '../journal/changes.js';
import { ChangeTracker, UntrackedWrites, type WriteTracker } from '../tracker/tracker.js';
import { ImageFile, inspectImage } from '../volume/image.js';
import { Volume } from '../volume/volume.js';
import { buildFuseOps } from '../fuse/adapter.js';
import { mountFuse, type FuseHandle } from '../fuse/mount.js';
import { ControlServer } from '../control/server.js';
import type { ControlRequest } from '../control/protocol.js';
import { Lifecycle } from './lifecycle.js';
import { MountWatch } from './mount-watch.js';
import { ErrnoError, errnoNameOf } from '../util/errno.js';
import { readMounts } from '../util/mountinfo.js';
import { ensureRuntimeDir, mountPaths, type MountPaths } from '../util/runtime.js';
import { flushLogs, type Logger } from '../util/logger.js';

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
  /** Benchmark-only: serve without tracking, to measure what tracking costs. */
  trackingOff: boolean;
}

/** Tells whoever started the daemon that the mount is live, or why it could not be. */
export interface Readiness {
  ready(info: { pid: number; mountpoint: string }): void;
  failed(message: string): void;
}

const ORDERED_SYNC_INTERVAL_MS = 1000;
const SHUTDOWN_WATCHDOG_MS = 20_000;
const DRAIN_LIMIT_MS = 5_000;
const FUSE_OP_TIMEOUT_MS = 30_000;
const MOUNT_INIT_TIMEOUT_MS = 15_000;
/** How long a non-lazy unmount waits for releases of descriptors closed just before it. */
const RELEASE_GRACE_MS = 1_000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new ErrnoError('ETIMEDOUT', `${what} did not finish within ${ms} ms`)), ms); }),
  ]);
}

async function checkMountpoint(path: string): Promise<string> {
  let st;
  try {
    st = await stat(path);
  } catch {
    throw new ErrnoError('ENOENT', `mountpoint ${path} does not exist`);
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
  if ((await readdir(real)).length > 0) throw new ErrnoError('ENOTEMPTY', `mountpoint ${path} is not empty`);
  return real;
}

async function sameFile(a: string, b: string): Promise<boolean> {
  try {
    const [x, y] = await Promise.all([stat(a), stat(b)]);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

export class MountDaemon {
  readonly lifecycle = new Lifecycle();
  private opened: OpenedJournal | null = null;
  private image: ImageFile | null = null;
  private volume: Volume | null = null;
  private control: ControlServer | null = null;
  private fuse: FuseHandle | null = null;
  private watch: MountWatch | null = null;
  private paths: MountPaths | null = null;
  private realMountpoint = '';
  private shutdownPromise: Promise<ShutdownSummary> | null = null;
  private journalFailures = 0;
  private imageFailures = 0;
  private startedAt = Date.now();
  private readonly events: string[] = [];

  constructor(private readonly config: MountConfig, private readonly log: Logger) {
    this.lifecycle.onTransition((t) => {
      this.log.info({ from: t.from, to: t.to, reason: t.reason }, `lifecycle ${t.from} -> ${t.to}: ${t.reason}`);
    });
  }

  /** Brings the mount up. On failure, undoes what was done and throws a one-line ErrnoError. */
  async start(): Promise<void> {
    const c = this.config;
    try {
      this.realMountpoint = await checkMountpoint(c.mountpoint);
      const facts = await inspectImage(c.image);
      if (await sameFile(c.image, c.journal)) throw new ErrnoError('EINVAL', `journal ${c.journal} is the image itself`);
      this.paths = mountPaths(this.realMountpoint);
      ensureRuntimeDir();

      this.opened = await openJournalForMount({ path: c.journal, image: facts, clusterSize: c.clusterSize, resetJournal: c.resetJournal });
      const { journal, verdict } = this.opened;
      for (const e of verdict.events) this.note(e);
      if (this.opened.created) this.note(`created journal ${c.journal} (cluster size ${journal.clusterSize})`);
      if (verdict.newlyUntrusted) {
        this.log.warn({ reason: verdict.reason }, `journal is untrusted: ${verdict.reason}`);
        await journal.markUntrusted(verdict.reason);
      }

      this.image = await ImageFile.open(facts, c.readOnly);
      if (!c.readOnly) {
        await journal.activate({ durability: c.durability, bootId: this.opened.bootId, pid: process.pid, imagePath: facts.path });
        if (c.durability === 'ordered') {
          journal.startAutoSync(ORDERED_SYNC_INTERVAL_MS, (e) => this.journalFailed(e));
        }
      }

      const tracker: WriteTracker = c.trackingOff ? new UntrackedWrites() : new ChangeTracker(journal);
      this.volume = new Volume(this.image, tracker, this.lifecycle, {
        journalFailed: (e) => this.journalFailed(e),
        imageFailed: (e, op) => this.imageFailed(e, op),
      }, c.readOnly);

      this.control = await ControlServer.listen(this.paths.socket, (req) => this.handleControl(req), (e) => this.log.error({ err: e }, 'control socket error'));
      await writeFile(this.paths.info, JSON.stringify({ pid: process.pid, mountpoint: this.realMountpoint, image: facts.path, journal: c.journal, socket: this.paths.socket, logFile: c.logFile }) + '\n');

      const ops = buildFuseOps(this.volume, { internalError: (op, e) => this.log.error({ err: e, op }, `INTERNAL ERROR in FUSE op ${op}`) });
      this.fuse = await withTimeout(
        mountFuse(ops, { mountpoint: this.realMountpoint, id: this.paths.id, allowOther: c.allowOther, readOnly: c.readOnly, opTimeoutMs: FUSE_OP_TIMEOUT_MS }),
        MOUNT_INIT_TIMEOUT_MS,
        'FUSE mount',
      );
      this.lifecycle.moveTo('active', 'mounted');
      this.log.info({ image: facts.path, mountpoint: this.realMountpoint, journal: c.journal, durability: c.durability, clusterSize: journal.clusterSize, trusted: verdict.trusted }, 'mount is live');

      this.watch = new MountWatch(this.realMountpoint, `trackfs:${this.paths.id}`, () => {
        void this.shutdown('mount disappeared from the mount table (external umount)', { unmountFuse: false, lazy: false }).then(() => this.exit(0));
      });
      this.watch.start();
    } catch (e) {
      this.log.error({ err: e }, `mount failed: ${(e as Error).message}`);
      await this.teardownAfterFailedStart();
      throw e;
    }
  }

  /* ------------------------------------------------------------- reporting ---- */

  private note(event: string): void {
    this.events.push(event);
    this.log.info(event);
  }

  /** Logged once per streak of failures (a streak ends when a commit succeeds); counted always. */
  private journalFailed(e: unknown): void {
    this.journalFailures++;
    const commits = this.opened?.journal.stats.commits ?? 0;
    if (commits === this.commitsAtLastJournalLog) return;
    this.commitsAtLastJournalLog = commits;
    this.log.error({ err: e, code: errnoNameOf(e) }, `journal cannot record writes: ${(e as Error)?.message}; affected writes fail with EIO`);
  }
  private commitsAtLastJournalLog = -1;

  private imageFailed(e: unknown, op: string): void {
    if (this.imageFailures++ === 0) this.log.error({ err: e, op, code: errnoNameOf(e) }, `image ${op} failed: ${(e as Error)?.message}`);
  }

  status(): Record<string, unknown> {
    const c = this.config;
    const j = this.opened?.journal;
    const h = j?.headerSnapshot();
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
      durability: c.durability,
      readOnly: c.readOnly,
      tracking: !c.trackingOff,
      clusterSize: j?.clusterSize ?? null,
      totalClusters: j?.clusterCount ?? null,
      changedClusters: j?.cache.marked.countSet() ?? null,
      generation: j?.generation ?? null,
      trusted: h ? h.state !== 'untrusted' : null,
      reason: h?.state === 'untrusted' ? h.reason : undefined,
      lastCommitAt: j?.stats.lastCommitAt ? new Date(j.stats.lastCommitAt).toISOString() : null,
      commits: j?.stats.commits ?? 0,
      syncs: j?.stats.syncs ?? 0,
      failedCommits: j?.stats.failedCommits ?? 0,
      failedWrites: this.journalFailures,
      imageErrors: this.imageFailures,
      lastError: j?.stats.lastError ? { ...j.stats.lastError, at: new Date(j.stats.lastError.at).toISOString() } : null,
      openHandles: this.volume?.openCount ?? 0,
      inFlight: this.volume?.pendingRequests ?? 0,
      events: this.events,
      logFile: c.logFile,
    };
  }

  changes(): ChangesReport {
    const j = this.opened?.journal;
    if (!j) throw new ErrnoError('EIO', 'journal is not open');
    const h = j.headerSnapshot();
    return changesReport({ bitmap: j.cache.marked, imageSize: h.imageSize, clusterSize: h.clusterSize, generation: h.generation, trusted: h.state !== 'untrusted', reason: h.reason });
  }

  /* ------------------------------------------------------------- control ---- */

  private async handleControl(req: ControlRequest): Promise<unknown> {
    switch (req.op) {
      case 'status':
        return this.status();
      case 'changes':
        return this.changes();
      case 'sync': {
        if (this.lifecycle.state !== 'active' || !this.opened) throw new ErrnoError('EIO', `mount is ${this.lifecycle.state}`);
        await this.opened.journal.sync();
        return { synced: true };
      }
      case 'unmount':
        return this.requestUnmount(req.lazy);
      case 'inject-fault': {
        if (process.env['TRACKFS_TEST_HOOKS'] !== '1' || !this.opened) throw new ErrnoError('EPERM', 'test hooks are disabled');
        if (req.io === 'none') this.opened.io.clear();
        else this.opened.io.inject(req.io, req.code);
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
      const until = Date.now() + RELEASE_GRACE_MS;
      while ((this.volume?.openCount ?? 0) > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      const open = this.volume?.openCount ?? 0;
      if (open > 0) throw new ErrnoError('EBUSY', `volume is open (${open} descriptor${open > 1 ? 's' : ''}); close it first or use --lazy`);
      // Unmount first: once the kernel has let go, no request can arrive after the journal is closed.
      // The watch must not take our own unmount for an external one: its handler would exit the
      // process before this request is answered.
      this.watch?.stop();
      const r = await this.fuse!.unmount(false, 10_000);
      if (!r.ok) {
        this.watch?.start();
        throw new ErrnoError(r.busy ? 'EBUSY' : 'EIO', r.busy ? 'volume is busy (open or in use); close it first or use --lazy' : `unmount failed: ${r.message}`);
      }
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
    const watchdog = setTimeout(() => {
      this.log.fatal({ reason }, `shutdown did not finish within ${SHUTDOWN_WATCHDOG_MS} ms; exiting`);
      this.exit(3);
    }, SHUTDOWN_WATCHDOG_MS);
    const summary: ShutdownSummary = { journalClean: false, errors: [] };
    const step = async (what: string, fn: () => Promise<unknown>): Promise<boolean> => {
      try {
        await fn();
        return true;
      } catch (e) {
        summary.errors.push(`${what}: ${(e as Error).message}`);
        this.log.error({ err: e }, `shutdown: ${what} failed`);
        return false;
      }
    };

    if (this.lifecycle.can('unmounting')) this.lifecycle.moveTo('unmounting', reason);
    this.watch?.stop();
    if (this.volume) await step('drain in-flight I/O', () => withTimeout(this.volume!.drain(), DRAIN_LIMIT_MS, 'drain'));

    let mtimeNs: bigint | null = null;
    if (this.image && !this.config.readOnly) {
      await step('image fdatasync', () => this.image!.datasync());
      await step('image stat', async () => { mtimeNs = await this.image!.mtimeNs(); });
    }
    if (this.opened) {
      const j = this.opened.journal;
      if (this.config.readOnly) {
        await step('journal close', () => j.abandon());
        summary.journalClean = true;
      } else if (mtimeNs === null) {
        // Without the image's final mtime a clean close would hide later changes: leave it active.
        await step('journal flush', () => j.close(null));
      } else {
        summary.journalClean = await step('journal commit and close', () => j.close({ imageMtimeNs: mtimeNs! }));
      }
    }
    if (this.image) await step('image close', () => this.image!.close());
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
    if (this.paths) await unlink(this.paths.info).catch(() => {});
    if (this.opened) {
      // Nothing was served: what the header says is still true, so leave the file as it is.
      await this.opened.journal.abandon();
    }
    if (this.image) await this.image.close().catch(() => {});
  }

  exit(code: number): never {
    flushLogs();
    process.exit(code);
  }
}

export interface ShutdownSummary {
  journalClean: boolean;
  errors: string[];
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
