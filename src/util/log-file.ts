/**
 * Opening a log file a user named (`--log-file`) for appending. Never through a symlink (a link
 * planted in a shared directory would have the daemon, maybe root, append to any file), created
 * 0600, and only a regular file: a FIFO would block the open, a device would take the log.
 * Synchronous: used once, at startup, before anything is served.
 */
import { closeSync, fstatSync, openSync, statSync, constants as fsConstants } from 'node:fs';
import { ErrnoError } from './errno.js';

const APPEND_FLAGS = fsConstants.O_WRONLY | fsConstants.O_APPEND | fsConstants.O_CREAT | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK;

/** Why opening `path` as `what` failed, in one line. */
export function describeOpenError(what: string, path: string, e: unknown): ErrnoError {
  const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
  switch (code) {
    case 'ELOOP':
    case 'EMLINK':
      return new ErrnoError('EINVAL', `${what} ${path} is a symbolic link; name the file itself`);
    case 'ENOENT':
      return new ErrnoError('ENOENT', `cannot create ${what} ${path}: its directory does not exist`);
    case 'EISDIR':
      return new ErrnoError('EISDIR', `${what} ${path} is a directory`);
    case 'ENXIO':
      return new ErrnoError('EINVAL', `${what} ${path} is not a regular file (a FIFO or socket nobody reads)`);
    case 'EACCES':
    case 'EPERM':
      return new ErrnoError('EACCES', `cannot open ${what} ${path}: permission denied`);
    case 'EROFS':
      return new ErrnoError('EACCES', `cannot open ${what} ${path}: read-only file system`);
    case 'ENOSPC':
      return new ErrnoError('ENOSPC', `cannot create ${what} ${path}: no space left on its file system`);
    default:
      return new ErrnoError('EIO', `cannot open ${what} ${path} (${code})`);
  }
}

/** A descriptor open for appending to the regular file `path` (created 0600 if new). */
export function openLogFile(path: string): number {
  // Not even opened when it is something else: opening a device may act on it.
  let existing;
  try {
    existing = statSync(path);
  } catch {
    existing = null;
  }
  if (existing && !existing.isFile()) throw new ErrnoError('EINVAL', `log file ${path} is not a regular file`);
  let fd: number;
  try {
    fd = openSync(path, APPEND_FLAGS, 0o600);
  } catch (e) {
    throw describeOpenError('log file', path, e);
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new ErrnoError('EINVAL', `log file ${path} is not a regular file`);
  }
  return fd;
}
