/**
 * The volume's side of the native data path (src/native/fastpath.ts, native/src/fastpath.h): the
 * module serves reads, and rewrites of recorded clusters, on libfuse's threads; this decides when
 * it may, from what the volume knows, and keeps its copy of `recorded` in step with the journal.
 *
 * The gates are open exactly while the volume would serve the request itself: the mount's state
 * serves I/O, the backing is attached, and (for writes) writes are not paused and the mount is
 * writable. They are recomputed on every change of any of these, in the same tick, so a request
 * the JavaScript path would refuse (EIO after eject, ENODEV once the device is gone) reaches
 * JavaScript. A request the module has already started finishes there; draining waits for it.
 *
 * A native call stuck on a stalled device cannot be answered from JavaScript. When one has made
 * no progress for the stuck limit, the gates close (every new request goes to the JavaScript path,
 * which answers stuck requests with EIO after the same limit), the module keeps its own copy of
 * the image's descriptor, and `stuck` counts it so the daemon exits by SIGKILL rather than wait.
 * The stuck request itself stays pending until the device answers, the mount goes away (the kernel
 * then fails it with ENOTCONN) or its process is killed.
 */
import { MARK_AHEAD_AFTER } from '../tracker/tracker.js';
import type { FastPath, FastPathCounters } from '../native/fastpath.js';
import type { RecordedListener } from '../journal/page-cache.js';
import { ErrnoError, messageOf } from '../util/errno.js';

export interface NativeBindingParams {
  fd: number;
  size: number;
  clusterSize: number;
  readOnly: boolean;
  markAhead: number;
}

/** What the volume tells the native path about itself, each time something changes. */
export interface NativeGateInputs {
  serving: boolean;
  writesPaused: boolean;
}

export class NativePath {
  #bound = false;
  /** Why the module may not serve for the rest of this binding (a stuck call, a failed clear). */
  #off: string | null = null;
  #lastCompleted = -1;
  #stillSinceTick = 0;
  #stuck = 0;

  constructor(private readonly fp: FastPath, private readonly volumePath: string, private readonly readOnly: boolean) {}

  /** Binds the image (gates stay closed until the next refresh). */
  bind(p: NativeBindingParams): void {
    if (this.#bound) return;
    try {
      this.fp.attach({
        fd: p.fd,
        size: p.size,
        clusterSize: p.clusterSize,
        readOnly: p.readOnly,
        path: this.volumePath,
        markAhead: { bytes: p.markAhead, after: MARK_AHEAD_AFTER },
      });
      this.#bound = true;
      this.#off = null;
    } catch (e) {
      this.#off = `cannot bind the image: ${messageOf(e)}`;
    }
  }

  /**
   * Lets go of the image. False when a native call is still in it (stuck): the module then keeps
   * its own descriptor, so nothing the caller closes can be reused under the call.
   */
  unbind(): boolean {
    if (!this.#bound) return true;
    this.fp.setGates({ read: false, write: false });
    try {
      this.fp.detach();
      this.#bound = false;
      return true;
    } catch {
      this.#off = 'a native call is stuck on the image';
      // Kept bound (the number must stay the module's), but no longer the image: a fork the
      // daemon makes from now on (fusermount at unmount) must not inherit a file that cannot close.
      this.fp.retireFd();
      return false;
    }
  }

  /** The module cannot serve this mount at all (it was not stacked): say why, serve nothing. */
  disable(why: string): void {
    this.#off = why;
    if (this.#bound) this.fp.setGates({ read: false, write: false });
  }

  refreshGates(inputs: NativeGateInputs): void {
    if (!this.#bound) return;
    const read = inputs.serving && this.#off === null;
    this.fp.setGates({ read, write: read && !inputs.writesPaused && !this.readOnly });
  }

  /** The journal's recorded bits, as they change (see PageCache.RecordedListener). */
  readonly recorded: RecordedListener = {
    orPage: (index, bits) => {
      if (this.#bound) this.fp.orRecordedPage(index, bits);
    },
    clear: () => {
      if (!this.#bound) return;
      try {
        this.fp.clearRecorded();
      } catch (e) {
        // Bits of a closed epoch must not serve the new one: serve nothing natively any more.
        this.#off = `its recorded bits could not be cleared at a new epoch (${messageOf(e)})`;
        this.fp.setGates({ read: false, write: false });
      }
    },
  };

  /** The stream follower shared with the module (ChangeTracker's StreamFollower). */
  readonly follow = (offset: number, length: number): number => this.fp.follow(offset, length);

  /** Waits, up to `limitMs`, for native requests of that kind to finish (their gate is closed). */
  async drained(which: 'writes' | 'all', limitMs: number): Promise<void> {
    if (!this.#bound) return;
    if (!(await this.fp.drain(which, limitMs))) {
      throw new ErrnoError('ETIMEDOUT', `a native ${which === 'writes' ? 'write' : 'request'} did not finish within ${limitMs} ms (the image does not answer)`);
    }
  }

  /**
   * Called once a tick (a second): a native call that has made no progress for `limitTicks` is
   * stuck; the gates close until the module is idle again. Returns how many calls were newly found
   * stuck.
   */
  sweep(tick: number, limitTicks: number, inputs: NativeGateInputs): number {
    if (!this.#bound) return 0;
    const c = this.fp.counters();
    const inFlight = c.inFlightReads + c.inFlightWrites;
    if (inFlight === 0 || c.completed !== this.#lastCompleted) {
      this.#lastCompleted = c.completed;
      this.#stillSinceTick = tick;
      if (inFlight === 0 && this.#off === 'a native call is stuck on the image') {
        this.#off = null;
        this.refreshGates(inputs);
      }
      return 0;
    }
    if (this.#off !== null || tick - this.#stillSinceTick < limitTicks) return 0;
    this.#off = 'a native call is stuck on the image';
    this.fp.setGates({ read: false, write: false });
    this.#stuck += inFlight;
    return inFlight;
  }

  /** Calls found stuck in all. */
  get stuck(): number {
    return this.#stuck;
  }

  /** When the module last wrote to the image (ms; 0: never). */
  lastWriteAtMs(): number {
    return this.fp.counters().lastWriteAtMs;
  }

  /** Serving, or why not; and what the module has done. */
  report(): { serving: boolean; off: string | null; counters: FastPathCounters } {
    return { serving: this.#bound && this.#off === null, off: this.#off, counters: this.fp.counters() };
  }
}
