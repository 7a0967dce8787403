/**
 * The mount daemon's policy: bring a mount up, serve it, take it down, and everything in between
 * (eject, resume, device loss, checkpoints). It decides; the parts it owns do:
 *   lifecycle.ts  the one state machine: what the mount is doing, and which moves are legal
 *   backing.ts    the image and journal handles, attached and released one operation at a time
 *   failures.ts   counting and classifying what failed; status.ts what status shows
 *   control.ts    control requests -> the methods below; run.ts the process around it all
 *
 * Every operation that awaits re-checks the lifecycle before it moves it (Lifecycle.finish), and
 * every operation on the backing runs through BackingOwner.serialize, so two requests that race
 * (a resume and an unmount, two checkpoints, an eject and a checkpoint) run one after the other
 * and each sees what the other left.
 */
import { unlink } from 'node:fs/promises';
import type { CheckpointReply, EjectReply, MountStatus, ResumeReply, ShutdownSummary } from '../control/protocol.js';
import { checkpointReply as replyOf } from '../control/replies.js';
import { ControlServer, type ReplyContext } from '../control/server.js';
import { VOLUME_NAME } from '../fuse/adapter.js';
import { createFastPath, fastPathStatus } from '../native/fastpath.js';
import { NativePath } from '../volume/native-path.js';
import { abortFuseConnection, fuseConnectionOf, whenFuseConnectionClosed } from '../fuse/connection.js';
import type { FuseHandle } from '../fuse/mount.js';
import { requireFuse, requireFuseAccess } from '../fuse/availability.js';
import { inspectImage, type ImageFacts, type ImageFile } from '../volume/image.js';
import { Volume } from '../volume/volume.js';
import { ErrnoError, fuseErr, messageOf } from '../util/errno.js';
import { flushLogs, type Logger } from '../util/logger.js';
import { ensureRuntimeDir, mountPaths, type MountPaths } from '../util/runtime.js';
import { sameFile } from '../util/same-file.js';
import { BackingOwner } from './backing.js';
import { withTimeout, BoundedSteps } from './bounded.js';
import type { MountConfig } from './config.js';
import { controlHandlers } from './control.js';
import { DeviceHealth } from './device-health.js';
import { JournalRequests } from './journal-requests.js';
import { serveVolume } from './serve-fuse.js';
import { FailureLog } from './failures.js';
import { DurabilityKeeper } from './durability.js';
import { Lifecycle, type MountState } from './lifecycle.js';
import { MountWatch, type WatchedVolume } from './mount-watch.js';
import { checkMountpoint } from './preflight.js';
import { lockMountpoint } from './mountpoint-lock.js';
import { writePrivateFile } from '../util/private-dir.js';
import { closeEpoch } from './checkpoint.js';
import { buildMountStatus } from './status.js';
import { TIMEOUTS } from './timeouts.js';

export type { MountConfig } from './config.js';

export class MountDaemon {
  readonly #lifecycle = new Lifecycle();
  readonly #failures: FailureLog;
  readonly #startedAt = Date.now();
  /* Set up by start(), in this order; each stays null if start() failed before it. */
  #mountpoint = '';
  #paths: MountPaths | null = null;
  /** The registration file is ours to remove (something else may sit at its path). */
  #registered = false;
  #volume: Volume | null = null;
  #backing: BackingOwner | null = null;
  /** Our FUSE connection's number (/sys/fs/fuse/connections), for the exit with calls stuck. */
  #connection: string | null = null;
  #control: ControlServer | null = null;
  #fuse: FuseHandle | null = null;
  #watch: MountWatch | null = null;
  /** Answers requests stuck longer than TIMEOUTS.fuseOpMs (fuse-native's own timer is off). */
  #sweep: NodeJS.Timeout | null = null;
  /** Armed during shutdown; pushed back while a long image sync still makes progress. */
  #watchdog: NodeJS.Timeout | null = null;
  #shutdown: Promise<ShutdownSummary> | null = null;

  constructor(private readonly config: MountConfig, private readonly log: Logger) {
    this.#failures = new FailureLog(log);
    this.#lifecycle.onTransition((t) => {
      // A probe after each image EIO would otherwise log two lines per failed request.
      const level = t.from === 'probing' || t.to === 'probing' ? 'debug' : 'info';
      this.log[level]({ from: t.from, to: t.to, reason: t.reason }, `lifecycle ${t.from} -> ${t.to}: ${t.reason}`);
    });
  }

  get state(): MountState {
    return this.#lifecycle.state;
  }

  /* ------------------------------------------------------------------ setup ---- */

  /** Brings the mount up. On failure, undoes what was done and throws a one-line ErrnoError. */
  async start(): Promise<void> {
    const c = this.config;
    try {
      // Before anything is opened: without FUSE the journal would be made active for nothing.
      await requireFuse();
      this.#mountpoint = await checkMountpoint(c.mountpoint);
      const facts = await inspectImage(c.image);
      if (await sameFile(c.image, c.journal)) throw new ErrnoError('EINVAL', `journal ${c.journal} is the image itself`);
      const paths = this.#paths = mountPaths(this.#mountpoint);
      ensureRuntimeDir();
      // One daemon per mountpoint; checked again under the lock (another may have mounted it since).
      const lockProblem = await lockMountpoint(paths.lock, this.#mountpoint);
      if (lockProblem) this.#failures.note(lockProblem);
      await checkMountpoint(c.mountpoint);
      await requireFuseAccess({ allowOther: c.allowOther });
      const durability = new DurabilityKeeper(c.journal, this.log, (e) => this.#failures.note(e));
      if (c.durability === 'ordered' && !c.readOnly) durability.prepare();

      const fastPath = createFastPath();
      const native = fastPath
        ? { path: new NativePath(fastPath, `/${VOLUME_NAME}`, c.readOnly) }
        : { path: null, reason: fastPathStatus().reason };
      const currentImage = (): ImageFile | null => this.#backing?.current?.image ?? null;
      const health = new DeviceHealth(this.#lifecycle, this.#failures, currentImage, (why) => this.#deviceGone(why), TIMEOUTS.probeMs);
      const volume = this.#volume = new Volume(facts.size, this.#lifecycle, {
        journalFailed: (e) => this.#journalFailed(e),
        imageFailed: (e, op) => health.imageFailed(e, op),
      }, c.readOnly, native);
      const backing = this.#backing = new BackingOwner(c, volume, durability, this.log, {
        note: (e) => this.#failures.note(e),
        journalFailed: (e) => this.#journalFailed(e),
        progress: () => this.#watchdog?.refresh(),
      });
      await backing.serialize(() => backing.attach(facts, { resetJournal: c.resetJournal, clusterSize: c.clusterSize }));

      const requests = new JournalRequests(backing, this.#lifecycle, c.journal, this.log);
      const handlers = controlHandlers(this, requests);
      this.#control = await ControlServer.listen(paths.socket, handlers, (e) => this.log.error({ err: e }, 'control socket error'));
      const registration = {
        pid: process.pid,
        mountpoint: this.#mountpoint,
        image: facts.path,
        journal: c.journal,
        socket: paths.socket,
        logFile: c.logFile,
      };
      writePrivateFile(paths.info, `${JSON.stringify(registration)}\n`);
      this.#registered = true;

      const serve = { mountpoint: this.#mountpoint, id: paths.id, access: facts.access, allowOther: c.allowOther, readOnly: c.readOnly };
      this.#fuse = await serveVolume(volume, { ...serve, fastPath, initLimitMs: TIMEOUTS.mountInitMs }, this.log);
      this.#lifecycle.moveTo('active', 'mounted');
      this.#sweep = setInterval(() => this.#expireStuck(), 1000);
      this.#sweep.unref();
      const j = backing.journal!;
      this.log.info({ image: facts.path, mountpoint: this.#mountpoint, journal: c.journal, durability: c.durability, clusterSize: j.clusterSize, trusted: j.state !== 'untrusted' }, 'mount is live');

      this.#watch = new MountWatch(this.#mountpoint, `trackfs:${paths.id}`, {
        ownMountGone: () => void this.#onOwnMountGone(),
        backingGone: (v) => void this.#onBackingVolumeGone(v),
      });
      this.#watch.start();
      this.#connection = await fuseConnectionOf(this.#mountpoint, `trackfs:${paths.id}`);
      await this.#watchBacking();
    } catch (e) {
      this.log.error({ err: e }, `mount failed: ${messageOf(e)}`);
      await this.#teardownAfterFailedStart();
      throw e;
    }
  }

  async #watchBacking(): Promise<void> {
    const b = this.#backing?.current;
    if (!this.#watch || !b) return;
    const journalDevice = await this.#backing!.journalDevice();
    const volumes: WatchedVolume[] = [{ what: 'image', device: b.facts.hostDevice }];
    if (journalDevice !== b.facts.hostDevice) volumes.push({ what: 'journal', device: journalDevice });
    const watched = await this.#watch.watchBacking(volumes);
    this.log.debug({ watched }, 'watching the volumes that hold the image and the journal');
  }

  async #teardownAfterFailedStart(): Promise<void> {
    this.#watch?.stop();
    if (this.#sweep) clearInterval(this.#sweep);
    if (this.#fuse) await this.#fuse.unmount(true, TIMEOUTS.unmountMs).catch(() => {});
    if (this.#control) await this.#control.close().catch(() => {});
    if (this.#paths && this.#registered) await unlink(this.#paths.info).catch(() => {});
    await this.#backing?.closeUnserved();
  }

  /* ------------------------------------------------- eject, resume, removal ---- */

  /** The error for an operation the mount's state does not allow now. */
  #notNow(what: string, hint = ''): ErrnoError {
    return new ErrnoError(this.#lifecycle.ioError() ?? 'EINVAL', `cannot ${what}: mount is ${this.#lifecycle.state}${hint}`);
  }

  /** Lets go of the backing after every operation asked before; stops watching its volumes first. */
  #release(why: string, refusal: 'EIO' | 'ENODEV'): Promise<{ clean: boolean; errors: string[] }> {
    this.#watch?.unwatchBacking();
    const backing = this.#backing;
    if (!backing) return Promise.resolve({ clean: false, errors: [] });
    return backing.serialize(() => backing.release(why, refusal));
  }

  /**
   * Query-remove: stop I/O at once, then (after any checkpoint under way) drain, commit and close
   * journal and image; keep the mount. A second eject waits for the first and reports the same.
   */
  async eject(reason: string): Promise<EjectReply> {
    const lc = this.#lifecycle;
    if (lc.is('ejecting', 'ejected')) {
      await this.#backing!.serialize(async () => {});
      return { state: lc.state, journalClean: this.#backing!.lastRelease?.clean ?? false };
    }
    if (!lc.serving) throw this.#notNow('eject');
    lc.moveTo('ejecting', reason);
    const { clean } = await this.#release(reason, 'EIO');
    // A device loss or an unmount noticed meanwhile wins: the state is then already past ejecting.
    lc.finish('ejecting', 'ejected', clean ? `${reason}; journal closed clean` : `${reason}; journal left active`);
    return { state: lc.state, journalClean: clean };
  }

  /**
   * Cancel-remove: reopen the same image and journal and serve again. A second resume waits for
   * the first and reports its outcome. An unmount asked meanwhile wins: the resume then fails,
   * and the unmount releases what it opened, after it.
   */
  async resume(): Promise<ResumeReply> {
    const lc = this.#lifecycle;
    const backing = this.#backing!;
    const outcome = (): ResumeReply => {
      if (!lc.serving) throw this.#notNow('resume');
      const h = backing.journal?.headerSnapshot();
      return h?.state === 'untrusted' ? { state: lc.state, trusted: false, reason: h.reason } : { state: lc.state, trusted: true };
    };
    if (lc.is('resuming')) {
      await backing.serialize(async () => {});
      return outcome();
    }
    if (lc.serving) return outcome();
    if (!lc.is('ejected')) throw this.#notNow('resume');
    lc.moveTo('resuming', 'resume requested');
    return backing.serialize(async () => {
      try {
        // First: while a native call is stuck, the image's device may not even answer a stat.
        backing.letGoOfStuckImage();
        const facts = await this.#sameBackingAsBefore();
        if (!lc.is('resuming')) throw this.#notNow('resume');
        await backing.attach(facts, { resetJournal: false, clusterSize: null });
      } catch (e) {
        lc.finish('resuming', 'ejected', `resume failed: ${messageOf(e)}`);
        throw e;
      }
      const j = backing.journal!;
      const before = backing.lastRelease;
      if (before && j.generation !== before.generation && j.state !== 'untrusted') {
        const reason = 'journal was replaced while the mount was ejected';
        this.log.warn(reason);
        await j.markUntrusted(reason).catch((e) => this.#journalFailed(e));
      }
      // Attached; if an unmount came meanwhile, it releases this after us and the resume fails.
      if (!lc.finish('resuming', 'active', 'resumed')) throw this.#notNow('resume');
      await this.#watchBacking();
      return outcome();
    });
  }

  /**
   * The image as it is now, refused if it is not the file that was ejected, or if it does not
   * answer a stat in time (a stalled device: the resume then fails rather than hang, and the stat
   * left behind counts as a stuck call).
   */
  async #sameBackingAsBefore(): Promise<ImageFacts> {
    const before = this.#backing!.lastRelease;
    const facts = await withTimeout(inspectImage(this.config.image), TIMEOUTS.resumeStatMs, 'stat').catch((e: unknown) => {
      if (!(e instanceof ErrnoError && e.code === 'ETIMEDOUT')) throw e;
      this.#backing!.noteStuckCalls(1);
      throw new ErrnoError('ETIMEDOUT', `cannot resume: ${this.config.image} does not answer (a stat of it took over ${TIMEOUTS.resumeStatMs / 1000} s); try again once its device answers, or unmount`);
    });
    if (before && facts.identity !== before.identity) {
      throw new ErrnoError('EINVAL', `cannot resume: ${this.config.image} is not the file that was ejected (it was replaced); unmount and mount again`);
    }
    if (facts.size !== this.#volume!.size) throw new ErrnoError('EINVAL', `cannot resume: ${this.config.image} changed size while ejected`);
    return facts;
  }

  /**
   * The device under the image is gone: answer everything in flight and everything after with
   * ENODEV, and commit what the journal can still take.
   */
  #deviceGone(reason: string): void {
    const lc = this.#lifecycle;
    if (!lc.can('removed')) return;
    lc.moveTo('removed', reason);
    const n = this.#volume?.abortInFlight(fuseErr('ENODEV')) ?? 0;
    if (n > 0) this.log.warn({ answered: n }, `answered ${n} request(s) in flight with ENODEV`);
    void this.#release(reason, 'ENODEV');
  }

  /** The volume holding the image or the journal left the mount table (a forced eject). */
  async #onBackingVolumeGone(v: WatchedVolume): Promise<void> {
    const reason = `the volume holding the ${v.what} (device ${v.device}) left the mount table`;
    this.log.warn({ device: v.device, what: v.what }, reason);
    const lc = this.#lifecycle;
    // Not serving: a release is already under way or done, and closes everything there.
    if (!lc.serving) return;
    // Still reachable through our descriptors (a lazy unmount): commit and let go, cleanly.
    lc.moveTo('ejecting', reason);
    const { clean } = await this.#release(reason, 'EIO');
    if (clean) lc.finish('ejecting', 'ejected', `${reason}; journal closed clean; 'trackfs resume' once it is back`);
    // The image's device gone is `removed` (ENODEV); only the journal unusable is `failed` (EIO).
    else lc.finish('ejecting', v.what === 'journal' ? 'failed' : 'removed', `${reason}; the journal could not be closed clean`);
  }

  /* ------------------------------------------------------------- reporting ---- */

  #journalFailed(e: unknown): void {
    this.#failures.journalFailed(e, this.#backing?.journal?.stats.commits ?? 0);
  }

  #expireStuck(): void {
    const n = this.#volume?.expireStuck(TIMEOUTS.fuseOpMs / 1000) ?? 0;
    if (n === 0) return;
    this.#backing?.noteStuckCalls(n);
    this.log.error({ answered: n }, `answered ${n} request(s) stuck for ${TIMEOUTS.fuseOpMs / 1000} s with EIO (the image does not answer)`);
  }

  status(): MountStatus {
    const backing = this.#backing;
    return buildMountStatus({
      config: this.config,
      lifecycle: this.#lifecycle,
      startedAt: this.#startedAt,
      mountpoint: this.#mountpoint,
      imageSize: this.#volume?.size ?? null,
      view: backing?.journalView() ?? null,
      stats: backing?.journal?.stats ?? null,
      backingOpen: !!backing?.current,
      failures: this.#failures,
      stuckCalls: (backing?.stuckCalls ?? 0) + (this.#volume?.stuckNativeCalls ?? 0),
      dataPath: this.#volume?.dataPath() ?? null,
      durability: backing?.durability.status() ?? { durabilityLoss: null },
      openHandles: this.#volume?.openCount ?? 0,
      inFlight: this.#volume?.pendingRequests ?? 0,
    });
  }

  /* -------------------------------------------------------- checkpoints ---- */

  /**
   * Ends the current epoch with no write straddling it: new writes wait at the gate, writes in
   * flight finish (their bits are then recorded in the closing epoch), the journal closes the
   * epoch durably, and the waiting writes go on into the next one. Checkpoints run one at a time
   * (serialize), so two consumers' checkpoints cannot release each other's paused writes.
   */
  checkpoint(): Promise<CheckpointReply> {
    if (this.config.trackingOff) return Promise.reject(new ErrnoError('EINVAL', 'cannot checkpoint: tracking is off on this mount'));
    if (this.config.readOnly) {
      const why = `cannot checkpoint: the mount is read-only and so is its journal; unmount it and checkpoint ${this.config.journal}, or mount without --read-only`;
      return Promise.reject(new ErrnoError('EROFS', why));
    }
    const backing = this.#backing!;
    const volume = this.#volume!;
    return backing.serialize(async () => {
      const b = backing.current;
      if (!this.#lifecycle.serving || !b) {
        const hint = this.#lifecycle.is('ejected') ? `; checkpoint the journal file instead: trackfs checkpoint ${this.config.journal}` : '';
        throw this.#notNow('checkpoint', hint);
      }
      const j = b.opened.journal;
      const started = Date.now();
      try {
        const r = await closeEpoch(volume, () => j.checkpoint({ state: 'active' }), TIMEOUTS.checkpointDrainMs);
        const reply = replyOf(r);
        if (r.rebased) this.#failures.note(`journal was untrusted (${r.rebasedFrom}); re-based on a new generation: checkpoint ${reply.id}`);
        this.log.info({ checkpoint: reply.id, rebased: r.rebased, pausedMs: Date.now() - started }, `checkpoint ${reply.id}`);
        return reply;
      } catch (e) {
        this.log.error({ err: e }, `checkpoint failed: ${messageOf(e)}`);
        throw e;
      }
    });
  }

  /* ------------------------------------------------------------ teardown ---- */

  /** `trackfs unmount`: refuse while the volume is open (unless lazy), then shut down and exit. */
  async requestUnmount(lazy: boolean, reply: ReplyContext): Promise<ShutdownSummary> {
    if (!this.#shutdown && !lazy) await this.#unmountKernelFirst();
    const summary = await this.shutdown(lazy ? 'unmount --lazy requested' : 'unmount requested', { unmountFuse: lazy });
    const code = summary.journalClean ? 0 : 1;
    // Exit once the reply is out; if the client went away, a moment later anyway.
    reply.afterReply(() => this.exit(code));
    setTimeout(() => this.exit(code), 1000).unref();
    return summary;
  }

  /**
   * A non-lazy unmount takes the mount away first: once the kernel has let go, no request can
   * arrive after the journal is closed. The mount watch is paused meanwhile (our own unmount is
   * not an external one) and resumed if the kernel refuses.
   */
  async #unmountKernelFirst(): Promise<void> {
    const volume = this.#volume!;
    // FUSE sends RELEASE asynchronously: a descriptor closed just before this request may not be
    // counted down yet (`dd ... of=MNT/volume; trackfs unmount MNT` raced). Give it a moment.
    await withTimeout(volume.whenAllClosed(), TIMEOUTS.releaseGraceMs, 'release of closed descriptors').catch(() => {});
    const open = volume.openCount;
    if (open > 0) throw new ErrnoError('EBUSY', `volume is open (${open} descriptor${open > 1 ? 's' : ''}); close it first or use --lazy`);
    this.#watch?.pause();
    const r = await this.#fuse!.unmount(false, TIMEOUTS.unmountMs);
    if (r.ok) return;
    this.#watch?.start();
    throw new ErrnoError(r.busy ? 'EBUSY' : 'EIO', r.busy ? 'volume is busy (open or in use); close it first or use --lazy' : `unmount failed: ${r.message}`);
  }

  /**
   * Stops serving and releases everything, in reverse setup order. Idempotent: every caller gets
   * the same summary. Does not exit: the caller decides (a control reply may still have to go out).
   */
  shutdown(reason: string, opts: { unmountFuse: boolean }): Promise<ShutdownSummary> {
    if (!this.#shutdown) {
      this.#stopServing(reason);
      this.#shutdown = this.#releaseAndUnmount(reason, opts);
    }
    return this.#shutdown;
  }

  /** First half: from this tick on, every request is refused and nothing new starts. */
  #stopServing(reason: string): void {
    if (this.#lifecycle.can('unmounting')) this.#lifecycle.moveTo('unmounting', reason);
    this.#watch?.stop();
    if (this.#sweep) clearInterval(this.#sweep);
  }

  /** Second half: after every backing operation under way, release, unmount, close; bounded. */
  async #releaseAndUnmount(reason: string, opts: { unmountFuse: boolean }): Promise<ShutdownSummary> {
    const watchdog = this.#watchdog = setTimeout(() => {
      this.log.fatal({ reason }, `shutdown made no progress for ${TIMEOUTS.shutdownWatchdogMs} ms; exiting`);
      this.exit(3);
    }, TIMEOUTS.shutdownWatchdogMs);
    const released = await this.#release(reason, 'EIO');
    const notRetired = this.#backing?.retireStuckImage() ?? null;
    if (notRetired) this.log.warn(notRetired);
    const steps = new BoundedSteps(this.log, 'shutdown');
    const fuse = this.#fuse;
    if (opts.unmountFuse && fuse) {
      await steps.run('unmount', async () => {
        const r = await fuse.unmount(true, TIMEOUTS.unmountMs);
        if (!r.ok) throw new Error(r.message);
      }, TIMEOUTS.shutdownStepMs);
    }
    const control = this.#control;
    if (control) await steps.run('control socket close', () => control.close(), TIMEOUTS.shutdownStepMs);
    const paths = this.#paths;
    if (paths && this.#registered) await steps.run('registration removal', () => unlink(paths.info).catch(() => {}), TIMEOUTS.shutdownStepMs);
    this.#lifecycle.finish('unmounting', 'unmounted', released.clean ? 'journal closed clean' : 'journal left active');
    clearTimeout(watchdog);
    const summary = { journalClean: released.clean, errors: [...released.errors, ...steps.errors] };
    this.log.info(summary, 'shutdown complete');
    return summary;
  }

  /** Our mount left the mount table (umount, fusermount -u, umount -l by someone else). */
  async #onOwnMountGone(): Promise<void> {
    const summary = await this.shutdown('mount disappeared from the mount table (external umount)', { unmountFuse: false });
    // After a lazy umount, descriptors opened before keep sending requests (answered EIO now):
    // stay until the last one is closed, as the kernel expects of a live connection.
    const open = this.#volume?.openCount ?? 0;
    if (open > 0) {
      this.log.info({ open }, `waiting for ${open} descriptor(s) still open on the detached volume`);
      // When the last one closes, the kernel may end the connection without sending its RELEASE:
      // libfuse then closes its /dev/fuse descriptor, which is the other sign to look for.
      await Promise.race([this.#volume!.whenAllClosed(), whenFuseConnectionClosed()]);
      this.log.info('the last descriptor on the detached volume is closed');
    }
    this.exit(summary.journalClean ? 0 : 1);
  }

  exit(code: number): never {
    if ((this.#backing?.stuckCalls ?? 0) + (this.#volume?.stuckNativeCalls ?? 0) > 0) {
      // libuv joins its threadpool at exit, and a thread blocked on a stalled device never comes
      // back: process.exit would hang. Nothing is left to save (the journal is closed), so go now.
      this.log.warn({ code }, 'backing calls never returned; exiting with SIGKILL so the exit cannot hang');
      // A worker blocked on the device keeps this process, and so our /dev/fuse descriptor, alive
      // past the SIGKILL: the request it serves, and any sent later, would wait for the device.
      // Ending the connection answers them now.
      if (this.#connection !== null) {
        const problem = abortFuseConnection(this.#connection);
        if (problem) this.log.warn(`could not end FUSE connection ${this.#connection}: ${problem}; requests on it wait for the device`);
        else this.log.info(`ended FUSE connection ${this.#connection}: requests still on it are answered with an error`);
      }
      flushLogs();
      process.kill(process.pid, 'SIGKILL');
    }
    flushLogs();
    process.exit(code);
  }
}
