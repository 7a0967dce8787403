/**
 * What a failed image call says about the device under it. A lost device (ENXIO, ENODEV, ...)
 * takes the mount to `removed` at once; after a plain EIO, the mount goes to `probing` while one
 * small read tells a bad sector (the mount goes on) from a device that is gone.
 */
import { errnoNameOf } from '../util/errno.js';
import type { ImageFile } from '../volume/image.js';
import { withTimeout } from '../util/timeout.js';
import type { FailureLog } from './failures.js';
import type { Lifecycle } from './lifecycle.js';

/** Resolves if the image answers a 512-byte read at offset 0 within `limitMs`; rejects otherwise. */
function probeRead(image: ImageFile, limitMs: number): Promise<void> {
  const read = new Promise<void>((resolve, reject) => {
    image.read(Buffer.alloc(512), 512, 0, (err) => (err ? reject(err) : resolve()));
  });
  return withTimeout(read, limitMs, 'device probe');
}

export class DeviceHealth {
  constructor(
    private readonly lifecycle: Lifecycle,
    private readonly failures: FailureLog,
    /** The image while it is open. */
    private readonly image: () => ImageFile | null,
    /** The device is gone: the owner answers everything with ENODEV and lets go of the backing. */
    private readonly deviceGone: (reason: string) => void,
    private readonly probeMs: number,
  ) {}

  /** Image I/O failed: counted and logged once (FailureLog), then acted on. */
  imageFailed(e: unknown, op: string): void {
    const verdict = this.failures.imageFailed(e, op);
    if (verdict === 'device-gone') this.deviceGone(`image ${op} failed with ${errnoNameOf(e)}: the device is gone`);
    else if (verdict === 'probe' && this.lifecycle.is('active')) void this.#probe(op);
  }

  async #probe(op: string): Promise<void> {
    const image = this.image();
    if (!image) return;
    const lc = this.lifecycle;
    lc.moveTo('probing', `image ${op} failed with EIO: checking that the device still answers`);
    try {
      await probeRead(image, this.probeMs);
      lc.finish('probing', 'active', 'the device answers: one request failed, the mount goes on');
    } catch (e) {
      if (lc.is('probing')) this.deviceGone(`image ${op} failed with EIO and the device does not answer (${errnoNameOf(e)})`);
    }
  }
}
