/**
 * FUSE adapter: maps fuse-native's operations onto the Volume and answers with integers. It holds
 * no logic of its own. fuse-native's rules, enforced here for every op:
 *  - reply exactly once, with one integer (>= 0 success, negative errno failure);
 *  - copy a write's buffer before anything asynchronous: it is detached after the reply or on
 *    timeout;
 *  - read into trackfs's own buffer and copy into FUSE's only at the end, never past buf.length;
 *  - nothing may throw out of a handler (that kills the process and leaves a stale mount).
 */
import { constants as fsConstants } from 'node:fs';
import type { FuseOps } from 'fuse-native';
import type { Volume } from '../volume/volume.js';
import { fuseErr } from '../util/errno.js';

export const VOLUME_NAME = 'volume';
const VOLUME_PATH = `/${VOLUME_NAME}`;

type Cb = (result: number, ...rest: unknown[]) => void;

export interface AdapterHooks {
  /** An exception escaped an op: a trackfs bug. Logged once by the owner. */
  internalError(op: string, e: unknown): void;
}

/** Wraps an op so an exception becomes EIO and a second reply is impossible. */
function guarded(op: string, hooks: AdapterHooks, fn: (...args: any[]) => void): (...args: any[]) => void {
  return (...args: any[]) => {
    const cb = args[args.length - 1] as Cb;
    let replied = false;
    const once: Cb = (result, ...rest) => {
      if (replied) return;
      replied = true;
      cb(result, ...rest);
    };
    args[args.length - 1] = once;
    try {
      fn(...args);
    } catch (e) {
      hooks.internalError(op, e);
      once(fuseErr('EIO'));
    }
  };
}

/**
 * Who may use the volume, as the kernel checks it (default_permissions): the image's own
 * permission bits, owner and group, so that --allow-other shows no one an image they could not
 * read themselves.
 */
export interface VolumeAccess {
  permissions: number;
  uid: number;
  gid: number;
}

export function buildFuseOps(volume: Volume, hooks: AdapterHooks, access: VolumeAccess): FuseOps {
  const { uid, gid } = access;
  const mountedAt = new Date();
  // A read-only volume cannot be written by anyone: no write bits, whatever the image has.
  const fileMode = fsConstants.S_IFREG | (access.permissions & 0o777 & (volume.readOnly ? ~0o222 : 0o777));

  const rootStat = () => ({
    mode: fsConstants.S_IFDIR | 0o755,
    uid,
    gid,
    size: 4096,
    nlink: 2,
    atime: mountedAt,
    mtime: mountedAt,
    ctime: mountedAt,
  });
  const volumeStat = () => {
    const mtime = new Date(volume.modifiedAtMs);
    return {
      mode: fileMode,
      uid,
      gid,
      size: volume.size,
      nlink: 1,
      blksize: 4096,
      blocks: Math.ceil(volume.size / 512),
      atime: mtime,
      mtime,
      ctime: mtime,
    };
  };
  const denied = (cb: Cb) => cb(fuseErr('EPERM'));
  const fixedSize = (path: string, size: number, cb: Cb) => {
    if (path !== VOLUME_PATH) return cb(path === '/' ? fuseErr('EISDIR') : fuseErr('ENOENT'));
    // The volume has the image's size; only a no-op truncate succeeds.
    cb(size === volume.size ? 0 : fuseErr('EINVAL'));
  };

  const ops: Record<string, (...args: any[]) => void> = {
    init: (cb: Cb) => cb(0),
    getattr: (path: string, cb: Cb) => {
      if (path === '/') return cb(0, rootStat());
      if (path === VOLUME_PATH) return cb(0, volumeStat());
      cb(fuseErr('ENOENT'));
    },
    readdir: (path: string, cb: Cb) => {
      if (path !== '/') return cb(fuseErr('ENOTDIR'));
      cb(0, [VOLUME_NAME], [volumeStat()]);
    },
    open: (path: string, flags: number, cb: Cb) => {
      if (path !== VOLUME_PATH) return cb(path === '/' ? fuseErr('EISDIR') : fuseErr('ENOENT'));
      const result = volume.open((flags & 3) !== fsConstants.O_RDONLY);
      cb(result < 0 ? result : 0, 0);
    },
    release: (_path: string, _fd: number, cb: Cb) => {
      volume.release();
      cb(0);
    },
    read: (_path: string, _fd: number, buf: Buffer, len: number, pos: number, cb: Cb) => {
      volume.read(pos, len, (result, data) => {
        if (result <= 0 || !data) return cb(result);
        const n = Math.min(result, buf.length);
        data.copy(buf, 0, 0, n);
        cb(n);
      });
    },
    write: (_path: string, _fd: number, buf: Buffer, len: number, pos: number, cb: Cb) => {
      const n = Math.min(len, buf.length);
      const data = Buffer.allocUnsafe(n);
      buf.copy(data, 0, 0, n);
      volume.write(data, pos, cb);
    },
    fsync: (_path: string, _datasync: number, _fd: number, cb: Cb) => volume.fsync(cb),
    flush: (_path: string, _fd: number, cb: Cb) => cb(0),
    truncate: (path: string, size: number, cb: Cb) => fixedSize(path, size, cb),
    ftruncate: (path: string, _fd: number, size: number, cb: Cb) => fixedSize(path, size, cb),
    statfs: (_path: string, cb: Cb) => {
      const blocks = Math.ceil(volume.size / 4096);
      cb(0, { bsize: 4096, frsize: 4096, blocks, bfree: 0, bavail: 0, files: 1, ffree: 0, favail: 0, fsid: 0, flag: 0, namemax: 255 });
    },
    access: (_path: string, _mode: number, cb: Cb) => cb(0),
    utimens: (path: string, _atime: number, _mtime: number, cb: Cb) => cb(path === '/' || path === VOLUME_PATH ? 0 : fuseErr('ENOENT')),
    chmod: (_p: string, _m: number, cb: Cb) => denied(cb),
    chown: (_p: string, _u: number, _g: number, cb: Cb) => denied(cb),
    create: (_p: string, _m: number, cb: Cb) => denied(cb),
    mknod: (_p: string, _m: number, _d: number, cb: Cb) => denied(cb),
    unlink: (_p: string, cb: Cb) => denied(cb),
    rename: (_s: string, _d: string, cb: Cb) => denied(cb),
    link: (_s: string, _d: string, cb: Cb) => denied(cb),
    symlink: (_s: string, _d: string, cb: Cb) => denied(cb),
    mkdir: (_p: string, _m: number, cb: Cb) => denied(cb),
    rmdir: (_p: string, cb: Cb) => denied(cb),
  };

  const out: FuseOps = {};
  for (const [name, fn] of Object.entries(ops)) out[name] = guarded(name, hooks, fn);
  return out;
}
