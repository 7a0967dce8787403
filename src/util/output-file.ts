/**
 * A file the user asked trackfs to write (a picture of the changes): checked like every path a
 * user gives before anything is written (not the image, its volume or its journal, not inside the
 * mountpoint, a regular file if it exists), never reached through a symbolic link, created 0600.
 */
import { constants as fsConstants } from 'node:fs';
import { open } from 'node:fs/promises';
import { checkKind } from './file-type.js';
import { ErrnoError } from './errno.js';
import { fsError } from './fs-errors.js';
import { firstSameFile, isInside } from './same-file.js';

export interface OutputChecks {
  /** Files it must not be (label, path): the image, the volume, the journal, other outputs. */
  notSameAs: ReadonlyArray<readonly [string, string]>;
  /** A mountpoint it must not be inside (the volume's directory), or null. */
  notInside: string | null;
}

/** Throws a one-line ErrnoError when `path` may not be written as `what`. */
export async function checkOutputPath(what: string, path: string, checks: OutputChecks): Promise<void> {
  await checkKind(what, path, ['file']);
  const clash = await firstSameFile(path, checks.notSameAs);
  if (clash) throw new ErrnoError('EINVAL', `${what} ${path} is ${clash}; name another file`);
  if (checks.notInside && (await isInside(path, checks.notInside))) {
    throw new ErrnoError('EINVAL', `${what} ${path} is inside the mountpoint ${checks.notInside}; name a file elsewhere`);
  }
}

/** Writes `data` to `path` (created 0600, or an existing regular file replaced in place). */
export async function writeOutputFile(what: string, path: string, data: string | Buffer): Promise<void> {
  const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK;
  let h;
  try {
    h = await open(path, flags, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new ErrnoError('ELOOP', `${what} ${path} is a symbolic link; name the file itself`);
    }
    throw fsError(`cannot create ${what}`, path, e);
  }
  try {
    // Checked on the descriptor: the path may have been swapped for a FIFO or a device meanwhile.
    if (!(await h.stat()).isFile()) throw new ErrnoError('EINVAL', `${what} ${path} is not a regular file`);
    await h.truncate(0);
    await h.writeFile(data);
  } catch (e) {
    throw fsError(`cannot write ${what}`, path, e);
  } finally {
    await h.close().catch(() => {});
  }
}
