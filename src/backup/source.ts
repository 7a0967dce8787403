/**
 * Where a backup reads from and how it asks what changed: a live mount (through its volume and
 * its control socket) or an image with its journal, offline. Errors are one-line ErrnoErrors.
 */
import { join } from 'node:path';
import { askMount, isDirectory, mountRefAt, streamMount } from '../control/ask.js';
import type { CheckpointReply } from '../control/protocol.js';
import { VOLUME_NAME } from '../fuse/adapter.js';
import type { ChangeStream } from '../journal/changes.js';
import { offlineChanges, offlineCheckpoint, offlineStatus } from '../offline/journal-file.js';
import { ErrnoError } from '../util/errno.js';
import { isAbsolute } from 'node:path';
import { sameFile } from '../util/same-file.js';
import { printable } from '../util/text.js';
import { inspectImage } from '../volume/image.js';

export interface BackupSource {
  /** What the user named, for messages and the sidecar. */
  describe: string;
  /** Where the bytes are read: the mount's volume, or the image itself. */
  dataPath: string;
  imageSize: number;
  clusterSize: number;
  generation: string;
  /** Files neither TARGET nor the sidecar may be: the image, the volume, the journal (label, path). */
  ownFiles: Array<readonly [string, string]>;
  /** The mountpoint of a live source: nothing of the backup's may be written inside it. */
  mountpoint: string | null;
  /** The newest checkpoint id when the backup began. */
  latestCheckpoint: string;
  /** What changed since `since`, as a summary and extents that arrive in batches. */
  changes(since: string | null): Promise<ChangeStream>;
  checkpoint(): Promise<CheckpointReply>;
}

/** Opens SOURCE: a trackfs mountpoint (live), or an image file or block device with its journal. */
export async function openBackupSource(name: string, journalOpt: string | undefined): Promise<BackupSource> {
  if (await isDirectory(name)) {
    if (journalOpt) throw new ErrnoError('EINVAL', '--journal is for an offline source (an image); a mountpoint knows its journal');
    return mountSource(name);
  }
  return imageSource(name, journalOpt ?? `${name}.trackfs`, journalOpt === undefined);
}

async function mountSource(name: string): Promise<BackupSource> {
  const mount = await mountRefAt(name);
  const s = await askMount(mount, { op: 'status' });
  if (s.state !== 'active' && s.state !== 'probing') {
    const hint = s.state === 'ejected' ? ` (back up the image offline, or 'trackfs resume ${name}')` : '';
    throw new ErrnoError('EIO', `cannot back up ${name}: the mount is ${s.state}${hint}`);
  }
  if (!s.tracking) throw new ErrnoError('EINVAL', `cannot back up ${name}: tracking is off on this mount`);
  if (s.imageSize === null || s.clusterSize === null || s.generation === null || s.latestCheckpoint === null) {
    throw new ErrnoError('EIO', `cannot back up ${name}: the mount does not describe its journal`);
  }
  const volume = join(mount.mountpoint, VOLUME_NAME);
  return {
    describe: mount.mountpoint,
    dataPath: volume,
    imageSize: s.imageSize,
    clusterSize: s.clusterSize,
    generation: s.generation,
    ownFiles: [['the source volume', volume], ['the source image', s.image], ['the source journal', s.journal]],
    mountpoint: mount.mountpoint,
    latestCheckpoint: s.latestCheckpoint,
    changes: async (since) => {
      const { result, items } = await streamMount(mount, { op: 'changes', since });
      return { summary: result, batches: items };
    },
    checkpoint: () => askMount(mount, { op: 'checkpoint' }),
  };
}

async function imageSource(name: string, journal: string, journalDefaulted: boolean): Promise<BackupSource> {
  const image = await inspectImage(name);
  const s = await offlineStatus(journal).catch((e: unknown) => {
    if ((e as { code?: string }).code === 'ENOENT' && journalDefaulted) throw new ErrnoError('ENOENT', `journal ${journal} does not exist; name the journal with --journal`);
    throw e;
  });
  if (s.inUse) {
    throw new ErrnoError('EBUSY', s.liveOwner
      ? `journal ${journal} is in use by a live trackfs mount (pid ${s.liveOwner}); back up from its mountpoint`
      : `journal ${journal} is in use (locked by another process: a trackfs mount or command); try again once it is done`);
  }
  if (s.imageSize !== image.size) throw new ErrnoError('EINVAL', `journal ${journal} is for an image of ${s.imageSize} bytes, but ${name} has ${image.size}`);
  if (s.image && !isAbsolute(s.image)) {
    throw new ErrnoError('EINVAL', `journal ${journal} names its image as '${printable(s.image)}', not an absolute path: it was not written by trackfs mount`);
  }
  if (s.image && !(await sameFile(s.image, name))) throw new ErrnoError('EINVAL', `journal ${journal} tracks ${printable(s.image)}, not ${name}`);
  return {
    describe: name,
    dataPath: name,
    imageSize: image.size,
    clusterSize: s.clusterSize,
    generation: s.generation,
    ownFiles: [['the source image', name], ['the source journal', journal]],
    mountpoint: null,
    latestCheckpoint: s.latestCheckpoint,
    changes: (since) => offlineChanges(journal, since),
    checkpoint: () => offlineCheckpoint(journal),
  };
}
