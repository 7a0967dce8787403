/**
 * The native data path (native/src/fastpath*.c): a libfuse module stacked above fuse-native that
 * serves reads, and rewrites of clusters already recorded, with pread/pwrite on the libfuse worker
 * thread, and forwards every other request to fuse-native and JavaScript unchanged. The rule it
 * keeps is stated in native/src/fastpath.h and mirrors the WRITE-AHEAD RULE of
 * src/journal/journal.ts: a bit may be given to orRecordedPage only after the commit that made it
 * durable, and clearRecorded only runs with the write gate closed and drained.
 *
 * Life of one mount's fast path:
 *   const fp = createFastPath();                     // null: see fastPathStatus()
 *   mount with fp.mountOptions in the -o string      // before: fp.attach(...), gates closed
 *   fp.orRecordedPage(i, bits) for each recorded page, then fp.setGates(true, true)
 *   ... a checkpoint: setGates(true, false); await drain('writes'); epoch change; clearRecorded();
 *       setGates(true, true)
 *   ... eject/unmount: setGates(false, false); await drain('all'); detach(); dispose()
 *
 * A native request stuck on a stalled device cannot be answered from here: drain() resolves false
 * when its timeout passes, detach() and clearRecorded() then throw EBUSY, and the binding stays as
 * it is until the call returns; the module's descriptor number stays its own but is retired
 * (retireFd: it names an inert file, so no later fork inherits the image). With
 * the gates closed every new request goes to JavaScript meanwhile. `counters().inFlight*` and
 * `completed` show it: requests in flight while `completed` does not move are stuck.
 */
import { native, nativeStatus } from './native.js';
import { ErrnoError, type ErrnoName } from '../util/errno.js';
import { constants as osConstants } from 'node:os';

/** The addon's raw `fastPath` object (native/src/fastpath-napi.c). */
interface RawFastPath {
  create(onDrainSignal: () => void): { handle: object; id: number };
  attach(
    h: object,
    fd: number,
    size: number,
    clusterSize: number,
    readOnly: boolean,
    path: string,
    markAhead: number,
    followAfter: number,
  ): number;
  detach(h: object): number;
  retireFd(h: object): number;
  setGates(h: object, read: boolean, write: boolean): number;
  armDrain(h: object, writesOnly: boolean): number;
  orRecordedPage(h: object, index: number, bits: Uint8Array): number;
  clearRecorded(h: object): number;
  follow(h: object, offset: number, length: number): number;
  counters(h: object, out: Float64Array): void;
  release(h: object): void;
  libfuseCopies(): string[];
  readonly PAGE_BYTES: number;
  readonly STREAMS: number;
  readonly COUNTERS: number;
  readonly MODULE: string;
  readonly OPTION: string;
}

export interface FastPathBinding {
  /** The image, open for reading (and writing unless readOnly). The module keeps its own duplicate. */
  fd: number;
  /** The volume's size in bytes. */
  size: number;
  /** The journal's cluster size in bytes. */
  clusterSize: number;
  readOnly: boolean;
  /** The volume file's path inside the mount, e.g. `/volume`. */
  path: string;
  /**
   * The stream follower's settings (src/tracker/tracker.ts): `bytes` is the tracker's mark-ahead
   * window (0: the tracker does not follow streams), `after` its MARK_AHEAD_AFTER.
   */
  markAhead: { bytes: number; after: number };
}

/** Why requests went to JavaScript. */
export interface ForwardedByReason {
  /** The gate was closed, or nothing attached. */
  gate: number;
  /** A write touching a cluster that is not recorded (a first touch). */
  unrecorded: number;
  /** A write past or crossing the end of the volume. */
  range: number;
  /** The image read or write failed or was short: JavaScript redid the whole request. */
  io: number;
  /** A write at which the stream follower acts (JavaScript marks ahead). */
  handoff: number;
  /** Not the volume file, or a write on a read-only binding. */
  other: number;
}

export interface FastPathCounters {
  /** Served natively. */
  reads: number;
  writes: number;
  readBytes: number;
  writtenBytes: number;
  /** Forwarded to JavaScript (fuse-native below). */
  forwardedReads: number;
  forwardedWrites: number;
  forwarded: ForwardedByReason;
  inFlightReads: number;
  inFlightWrites: number;
  /** Requests the module has finished with, served or forwarded (their sum): it stops moving while the device is stalled. */
  completed: number;
  /** When the module last wrote to the image (ms since the epoch; 0: never). */
  lastWriteAtMs: number;
}

export interface FastPath {
  /** The mount id; also in mountOptions. */
  readonly id: number;
  /** Options to add to the mount's -o string: they push the module above fuse-native's file system. */
  readonly mountOptions: readonly string[];
  /** Binds the volume. Throws EBUSY when attached already, a gate is open or a call is in flight. */
  attach(binding: FastPathBinding): void;
  /** Unbinds it and closes the module's descriptor. Throws EBUSY unless both gates are closed and drained. */
  detach(): void;
  /**
   * After detach threw EBUSY: the module's descriptor number now names an inert file (I/O on it
   * fails and goes to JavaScript), so no later fork inherits the image (native/src/retire-fd.c).
   * Says whether that was done. detach() closes the number once the stuck call has returned.
   */
  retireFd(): boolean;
  /** Opens or closes the gates. Opening needs a binding. */
  setGates(gates: { read: boolean; write: boolean }): void;
  /**
   * Resolves true once no native request of that kind is in flight (call it after closing the
   * gate), or false when timeoutMs passed first (a call stuck on the device).
   */
  drain(which: 'writes' | 'all', timeoutMs: number): Promise<boolean>;
  /** ORs a page of committed bits (PAGE_BYTES bytes, the journal's page geometry) into `recorded`. */
  orRecordedPage(index: number, bits: Uint8Array): void;
  /** Empties `recorded` (a new epoch). Throws EBUSY unless the write gate is closed and drained. */
  clearRecorded(): void;
  /**
   * The stream follower shared with the native side (ChangeTracker.follow's algorithm): returns the
   * bytes the stream this write continues had written before it, 0 for a new stream.
   */
  follow(offset: number, length: number): number;
  counters(): FastPathCounters;
  /** Gives up JavaScript's hold; the state lives on while a mount uses it. Idempotent. */
  dispose(): void;
}

/** The journal's bitmap page size in bytes, as the native side was built with (null: no fast path). */
export function fastPathPageBytes(): number | null {
  return raw()?.PAGE_BYTES ?? null;
}

function raw(): RawFastPath | null {
  const addon = native() as (ReturnType<typeof native> & { fastPath?: RawFastPath }) | null;
  return addon?.fastPath ?? null;
}

/** Whether the native data path can be used here, and if not why (for the log and `status`). */
export function fastPathStatus(): { available: boolean; reason: string } {
  if (process.env['TRACKFS_DATA_PATH'] === 'javascript') return { available: false, reason: 'switched off (TRACKFS_DATA_PATH=javascript)' };
  const addon = nativeStatus();
  if (!addon.available) return { available: false, reason: `native addon ${addon.reason}` };
  const fp = raw();
  if (!fp) return { available: false, reason: 'native addon built without libfuse-dev (no native data path)' };
  return { available: true, reason: 'available' };
}

/**
 * Checks that fuse-native and the addon share one libfuse (the module is registered in the addon's
 * copy; a mount through another copy would not find it and fail). Call it after fuse-native is
 * loaded, before mounting. Null when they do, else why not.
 */
export function libfuseMismatch(): string | null {
  const fp = raw();
  if (!fp) return 'no native data path';
  const copies = fp.libfuseCopies();
  if (copies.length === 1) return null;
  return copies.length === 0 ? 'no libfuse loaded' : `${copies.length} copies of libfuse loaded (${copies.join(', ')})`;
}

const KNOWN: readonly ErrnoName[] = ['EBUSY', 'EINVAL', 'EBADF'];

function check(result: number, what: string): void {
  if (result === 0) return;
  const name = KNOWN.find((n) => (osConstants.errno as Record<string, number>)[n] === -result) ?? 'EIO';
  const why = name === 'EBUSY' ? 'a gate is open or a native request is in flight' : `errno ${-result}`;
  throw new ErrnoError(name, `native data path: cannot ${what} (${why})`);
}

/** A fast path for one mount, or null (fastPathStatus() says why). */
export function createFastPath(): FastPath | null {
  if (!fastPathStatus().available) return null;
  const fp = raw()!;
  const waiters = new Set<{ writesOnly: boolean; done: (drained: boolean) => void }>();
  const onDrainSignal = (): void => {
    if (disposed) return; // a signal queued before dispose()
    for (const w of waiters) if (fp.armDrain(handle, w.writesOnly) === 0) w.done(true);
    // Still waiting: armDrain above left the signal armed for the next zero.
  };
  let disposed = false;
  const { handle, id } = fp.create(onDrainSignal);
  const out = new Float64Array(fp.COUNTERS);

  return {
    id,
    mountOptions: [`modules=${fp.MODULE}`, `${fp.OPTION}=${id}`],
    attach(b) {
      check(fp.attach(handle, b.fd, b.size, b.clusterSize, b.readOnly, b.path, b.markAhead.bytes, b.markAhead.after), 'attach');
    },
    detach() {
      check(fp.detach(handle), 'detach');
    },
    retireFd() {
      return fp.retireFd(handle) === 0;
    },
    setGates(g) {
      check(fp.setGates(handle, g.read, g.write), 'open a gate (nothing attached)');
    },
    drain(which, timeoutMs) {
      const writesOnly = which === 'writes';
      if (fp.armDrain(handle, writesOnly) === 0) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const waiter = {
          writesOnly,
          done: (drained: boolean) => {
            waiters.delete(waiter);
            clearTimeout(timer);
            resolve(drained);
          },
        };
        const timer = setTimeout(() => waiter.done(false), timeoutMs);
        waiters.add(waiter);
      });
    },
    orRecordedPage(index, bits) {
      check(fp.orRecordedPage(handle, index, bits), `record page ${index}`);
    },
    clearRecorded() {
      check(fp.clearRecorded(handle), 'clear the recorded clusters');
    },
    follow(offset, length) {
      return fp.follow(handle, offset, length);
    },
    counters() {
      fp.counters(handle, out);
      let i = 0;
      const next = () => out[i++]!;
      return {
        reads: next(),
        writes: next(),
        readBytes: next(),
        writtenBytes: next(),
        forwardedReads: next(),
        forwardedWrites: next(),
        forwarded: { gate: next(), unrecorded: next(), range: next(), io: next(), handoff: next(), other: next() },
        inFlightReads: next(),
        inFlightWrites: next(),
        completed: next(),
        lastWriteAtMs: next(),
      };
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const w of waiters) w.done(false);
      // Closes the module's descriptor now when nothing can use it; otherwise the last user does.
      fp.detach(handle);
      fp.release(handle);
    },
  };
}
