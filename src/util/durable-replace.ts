/**
 * Replacing a small file so that a crash or power cut leaves the old one or the new one, never a
 * mix: written to a temporary file beside it, synced, renamed over, and the directory synced. The
 * sidecar, the ordered-mode durability record and the mount helper are written this way.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface ReplaceOptions {
  /** The file's permissions, whatever the umask. */
  mode: number;
  /**
   * The temporary file's name in the directory, before a random part and `.tmp`: callers that
   * sweep leftovers of a crash look for it.
   */
  tmpPrefix: string;
}

/**
 * Replaces (or creates) `path` with `data`; resolves once the file and its directory entry are
 * durable. The directory may be shared (/tmp, a backup volume): the temporary name is one nobody
 * can predict, made with O_CREAT|O_EXCL|O_NOFOLLOW, so a planted file or symlink is never written
 * through. On failure the temporary file is removed and `path` is as it was.
 */
export async function replaceDurably(path: string, data: string | Uint8Array, opts: ReplaceOptions): Promise<void> {
  const tmp = join(dirname(path), `${opts.tmpPrefix}.${randomBytes(8).toString('hex')}.tmp`);
  const fh = await open(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW, opts.mode);
  try {
    await fh.chmod(opts.mode);
    await fh.writeFile(data);
    await fh.datasync();
  } catch (e) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw e;
  }
  try {
    await fh.close();
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await syncDirectory(dirname(path));
}

/** Opens a directory and fsyncs it, so a rename or unlink in it is durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
