/** After an image EIO: one small read tells a bad sector from a device that is gone. */
import type { ImageFile } from '../volume/image.js';
import { withTimeout } from './bounded.js';

/** Resolves if the image answers a 512-byte read at offset 0 within `limitMs`; rejects otherwise. */
export function probeImage(image: ImageFile, limitMs: number): Promise<void> {
  const read = new Promise<void>((resolve, reject) => {
    image.read(Buffer.alloc(512), 512, 0, (err) => (err ? reject(err) : resolve()));
  });
  return withTimeout(read, limitMs, 'device probe');
}
