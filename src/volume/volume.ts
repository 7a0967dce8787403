/**
 * The exported volume: a fixed-size byte range backed by the image, with every write gated by the
 * tracker (write-ahead) and every request gated by the lifecycle. Results are reported as FUSE
 * wants them: a byte count, or a negative errno; exactly one callback per request.
 *
 * Errno choices:
 *   state other than active     EIO, or ENODEV once the device is gone (see lifecycle.ts)
 *   write at or past the end    ENOSPC (a write that crosses the end is cut short, like a device)
 *   journal cannot record       EIO, and the data never reaches the image
 *   write on a read-only mount  EROFS
 *   image I/O error             the image's own errno (EIO, ENOSPC, ENXIO, ...)
 */
import type { ImageFile } from './image.js';
import type { WriteTracker } from '../tracker/tracker.js';
import type { Lifecycle } from '../mount/lifecycle.js';
import { errno, fuseErrorOf } from '../util/errno.js';

export type Reply = (result: number) => void;
export type ReadReply = (result: number, data: Buffer | null) => void;

/** What the volume reports upward (logged once by the owner, never per request). */
export interface VolumeEvents {
  journalFailed(e: unknown): void;
  imageFailed(e: unknown, op: 'read' | 'write' | 'sync'): void;
}

const POOL_BUFFER_SIZE = 128 * 1024;
const POOL_MAX = 64;

export class Volume {
  readonly size: number;
  private openHandles = 0;
  private inFlight = 0;
  private drainWaiters: (() => void)[] = [];
  private readonly pool: Buffer[] = [];
  private mtimeMs = Date.now();

  constructor(
    private readonly image: ImageFile,
    private readonly tracker: WriteTracker,
    private readonly lifecycle: Lifecycle,
    private readonly events: VolumeEvents,
    readonly readOnly: boolean,
  ) {
    this.size = image.facts.size;
  }

  get openCount(): number { return this.openHandles; }
  get pendingRequests(): number { return this.inFlight; }
  get modifiedAtMs(): number { return this.mtimeMs; }

  /** Counts a descriptor. Write access on a read-only mount is refused here, not at write time. */
  open(wantsWrite: boolean): number {
    if (wantsWrite && this.readOnly) return -errno('EROFS');
    this.openHandles++;
    return 0;
  }

  release(): void {
    if (this.openHandles > 0) this.openHandles--;
  }

  read(position: number, length: number, reply: ReadReply): void {
    const gate = this.lifecycle.ioError();
    if (gate) return reply(-errno(gate), null);
    if (position >= this.size || length <= 0) return reply(0, null);
    const n = Math.min(length, this.size - position);
    const buf = this.takeBuffer(n);
    this.begin();
    this.image.read(buf, n, position, (err, got) => {
      if (err) {
        this.giveBuffer(buf);
        this.events.imageFailed(err, 'read');
        this.end();
        return reply(fuseErrorOf(err), null);
      }
      this.end();
      // The caller copies out of buf synchronously, then the buffer goes back to the pool.
      reply(got, buf);
      this.giveBuffer(buf);
    });
  }

  /** `data` must already be a copy owned by trackfs (FUSE's buffer dies with the callback). */
  write(data: Buffer, position: number, reply: Reply): void {
    const gate = this.lifecycle.ioError();
    if (gate) return reply(-errno(gate));
    if (this.readOnly) return reply(-errno('EROFS'));
    if (data.length === 0) return reply(0);
    if (position >= this.size) return reply(-errno('ENOSPC'));
    const n = Math.min(data.length, this.size - position);
    this.begin();
    const wait = this.tracker.beforeWrite(position, n);
    if (wait === null) {
      this.issueWrite(data, n, position, reply);
      return;
    }
    wait.then(
      () => this.issueWrite(data, n, position, reply),
      (e) => {
        // Write-ahead failed: the data must not reach the image.
        this.events.journalFailed(e);
        this.end();
        reply(-errno('EIO'));
      },
    );
  }

  private issueWrite(data: Buffer, n: number, position: number, reply: Reply): void {
    this.image.write(data, n, position, (err, written) => {
      this.end();
      if (err) {
        this.events.imageFailed(err, 'write');
        return reply(fuseErrorOf(err));
      }
      this.mtimeMs = Date.now();
      reply(written);
    });
  }

  /** fsync/fdatasync of the volume: the journal and the image, both durable. */
  fsync(reply: Reply): void {
    const gate = this.lifecycle.ioError();
    if (gate) return reply(-errno(gate));
    this.begin();
    let imageError: unknown = null;
    const imageSync = this.image.datasync().catch((e) => { imageError = e; });
    const journalSync = this.tracker.sync().catch((e) => {
      this.events.journalFailed(e);
      throw e;
    });
    Promise.all([imageSync, journalSync]).then(
      () => {
        this.end();
        if (imageError) {
          this.events.imageFailed(imageError, 'sync');
          return reply(fuseErrorOf(imageError));
        }
        reply(0);
      },
      () => {
        this.end();
        reply(-errno('EIO'));
      },
    );
  }

  /** Resolves once no request is in flight. New requests are the lifecycle's to refuse. */
  drain(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private begin(): void {
    this.inFlight++;
  }

  private end(): void {
    this.inFlight--;
    if (this.inFlight === 0 && this.drainWaiters.length > 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  private takeBuffer(n: number): Buffer {
    if (n > POOL_BUFFER_SIZE) return Buffer.allocUnsafe(n);
    return this.pool.pop() ?? Buffer.allocUnsafe(POOL_BUFFER_SIZE);
  }

  private giveBuffer(buf: Buffer): void {
    if (buf.length === POOL_BUFFER_SIZE && this.pool.length < POOL_MAX) this.pool.push(buf);
  }
}
