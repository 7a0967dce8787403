/**
 * Putting the volume under the mountpoint: the FUSE ops, the mount (with the native data path's
 * module stacked above fuse-native when it is there and usable), and one log line saying which
 * data path serves.
 */
import { buildFuseOps, type VolumeAccess } from '../fuse/adapter.js';
import { mountFuse, type FuseHandle } from '../fuse/mount.js';
import { libfuseMismatch, type FastPath } from '../native/fastpath.js';
import { ErrnoError } from '../util/errno.js';
import type { Logger } from '../util/logger.js';
import { withTimeout } from '../util/timeout.js';
import type { Volume } from '../volume/volume.js';

export interface ServeParams {
  mountpoint: string;
  id: string;
  access: VolumeAccess;
  allowOther: boolean;
  readOnly: boolean;
  fastPath: FastPath | null;
  /** FUSE INIT must come within this. */
  initLimitMs: number;
}

export async function serveVolume(volume: Volume, p: ServeParams, log: Logger): Promise<FuseHandle> {
  // Test hook (TRACKFS_TEST_HOOKS=1 only): the mount refused after the journal was activated, as
  // the kernel or fusermount may still refuse it this late (test/e2e/failed-start.test.ts).
  if (process.env['TRACKFS_TEST_HOOKS'] === '1' && process.env['TRACKFS_TEST_REFUSE_MOUNT'] === '1') {
    throw new ErrnoError('EPERM', 'FUSE mount refused (test hook TRACKFS_TEST_REFUSE_MOUNT)');
  }
  const ops = buildFuseOps(volume, { internalError: (op, e) => log.error({ err: e, op }, `INTERNAL ERROR in FUSE op ${op}`) }, p.access);
  const mounting = mountFuse(ops, {
    mountpoint: p.mountpoint,
    id: p.id,
    allowOther: p.allowOther,
    readOnly: p.readOnly,
    // Cached pages are kept across opens unless the volume's mtime moved (a write, a resume).
    extraOptions: ['auto_cache', 'ac_attr_timeout=0'],
    ...(p.fastPath ? { module: { options: p.fastPath.mountOptions, unusable: libfuseMismatch } } : {}),
  });
  const fuse = await withTimeout(mounting, p.initLimitMs, 'FUSE mount');
  if (fuse.moduleRefused) volume.nativeRefused(`the native module could not be stacked (${fuse.moduleRefused})`);
  const dp = volume.dataPath();
  const what = dp.path === 'native' ? 'data path: native (reads and recorded rewrites served in C)' : `data path: javascript (${dp.reason})`;
  log.info({ dataPath: dp.path, reason: dp.reason }, what);
  return fuse;
}
