/**
 * Opening a journal for a mount (create, verify geometry, refuse one in use, judge trust) and for
 * an offline reader (read-only, nothing written). Errors are ErrnoErrors with one-line messages.
 *
 * "In use" is a lock, not a guess: a mount holds an exclusive flock on the journal for as long as
 * it has the file open, an offline reader a shared one (an offline checkpoint, which writes, an
 * exclusive one). The pid in the header only names the holder in messages.
 */
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { ErrnoError } from '../util/errno.js';
import { processAlive } from '../util/process.js';
import { formatSizeShort } from '../util/size.js';
import { printable } from '../util/text.js';
import { currentBootId } from '../util/boot-id.js';
import { JournalFormatError } from './format.js';
import { FileJournalIo, FaultInjectingIo, ReadOnlyOverlayIo, type JournalIo } from './journal-io.js';
import { Journal, type CheckpointResult, type LoadReport } from './journal.js';
import { assessJournal, type ImageState, type Verdict } from './recovery.js';
import { fsError } from '../util/fs-errors.js';

export const DEFAULT_CLUSTER_SIZE = 64 * 1024;

export interface OpenedJournal {
  journal: Journal;
  io: FaultInjectingIo;
  verdict: Verdict;
  created: boolean;
  report: LoadReport;
  bootId: string;
}

/**
 * Who holds the journal, for a message: the daemon the header names when it says active on this
 * boot, else nobody known (another trackfs command, or any process that locked the file).
 */
function holderOf(header: { state: string; bootId: string; pid: number }, bootId: string): number {
  return header.state === 'active' && header.bootId === bootId && header.pid > 0 && processAlive(header.pid) ? header.pid : 0;
}

function inUseMessage(path: string, pid: number): string {
  return pid ? `journal ${path} is in use by trackfs (pid ${pid})` : `journal ${path} is in use (locked by another process: a trackfs mount or command); try again once it is done`;
}

/** Where the journal cannot be locked, what that means; said once per open, in the events. */
function lockUnavailable(why: string): string {
  return `journal lock unavailable (${why}): another mount or reader of this journal cannot be detected`;
}

/** The header's holder of a journal found locked: read without trusting anything else in it. */
async function holderOfLocked(io: JournalIo, bootId: string): Promise<number> {
  try {
    const { journal } = await Journal.load(io);
    return holderOf(journal.headerSnapshot(), bootId);
  } catch {
    return 0;
  }
}

function describeFormatError(path: string, e: JournalFormatError): string {
  if (e.kind === 'bad-magic' || e.kind === 'too-short') return `${path} is not a trackfs journal`;
  if (e.kind === 'bad-version') return `journal ${path}: ${e.message}`;
  return `journal ${path} is corrupt (${e.message})`;
}

async function openIo(path: string, create: boolean, readOnly = false): Promise<JournalIo> {
  try {
    return await FileJournalIo.open(path, { create, readOnly });
  } catch (e) {
    if (e instanceof ErrnoError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new ErrnoError('ENOENT', create ? `cannot create journal ${path}: directory does not exist` : `journal ${path} does not exist`);
    if (err.code === 'EACCES' || err.code === 'EPERM' || err.code === 'EROFS') throw new ErrnoError('EACCES', `cannot open journal ${path} (${err.code})`);
    if (err.code === 'EISDIR') throw new ErrnoError('EISDIR', `journal ${path} is a directory`);
    throw fsError(create ? 'cannot create journal' : 'cannot open journal', path, e);
  }
}

export async function openJournalForMount(params: {
  path: string;
  /** `access`: who may read the image; a new journal is readable by no one else. */
  image: ImageState & { path: string; access?: { permissions: number; gid: number } };
  /** null: take the journal's own, or the default for a new journal. */
  clusterSize: number | null;
  resetJournal: boolean;
  /** A --read-only mount: an existing journal is opened read-only and never written. */
  readOnly?: boolean;
}): Promise<OpenedJournal> {
  const { path, image } = params;
  if (params.readOnly && params.resetJournal) throw new ErrnoError('EINVAL', '--reset-journal writes the journal: it cannot be used with --read-only');
  const bootId = await currentBootId();
  const fresh = async (io: FaultInjectingIo): Promise<OpenedJournal> => {
    let journal: Journal;
    try {
      journal = await Journal.create(io, { imageSize: image.size, clusterSize: params.clusterSize ?? DEFAULT_CLUSTER_SIZE, imagePath: image.path });
    } catch (e) {
      throw fsError('cannot create journal', path, e);
    }
    const verdict: Verdict = { trusted: true, reason: '', newlyUntrusted: false, crashed: false, events: [] };
    return { journal, io, verdict, created: true, report: { damagedHeaderSlots: [], damagedPages: [], damagedHistoryPages: [] }, bootId };
  };

  const lockEvents: string[] = [];
  /** Takes the exclusive lock of a mount on `io`, or closes it and throws. */
  const lockForMount = async (io: FaultInjectingIo): Promise<FaultInjectingIo> => {
    const r = await io.lock(true);
    if (r === 'locked') return io;
    if (r !== 'busy') {
      lockEvents.push(lockUnavailable(r.unsupported));
      return io;
    }
    const pid = await holderOfLocked(io, bootId);
    await io.close().catch(() => {});
    throw new ErrnoError('EBUSY', inUseMessage(path, pid));
  };
  const withLockEvents = (o: OpenedJournal): OpenedJournal => {
    o.verdict.events.push(...lockEvents);
    return o;
  };

  if (!existsSync(path)) {
    const file = await openIo(path, true);
    const io = await lockForMount(new FaultInjectingIo(file));
    try {
      if (image.access && file instanceof FileJournalIo) await file.limitAccess(image.access);
      return withLockEvents(await fresh(io));
    } catch (e) {
      // Made here, exclusively, and not usable: nothing half-made is left for the next mount.
      if (file instanceof FileJournalIo) await file.removeIfStillAt(path).catch(() => {});
      await io.close().catch(() => {});
      throw e;
    }
  }

  const file = await openIo(path, false, params.readOnly);
  const io = await lockForMount(new FaultInjectingIo(params.readOnly ? new ReadOnlyOverlayIo(file) : file));
  try {
    let loaded;
    try {
      loaded = await Journal.load(io);
    } catch (e) {
      if (!(e instanceof JournalFormatError)) throw fsError('cannot read journal', path, e);
      if (!params.resetJournal || e.kind === 'bad-magic' || e.kind === 'too-short') {
        // Never format over something that is not ours, even when asked to reset.
        const hint = e.kind === 'bad-magic' || e.kind === 'too-short' ? '; refusing to overwrite it' : '; use --reset-journal to start over (the next backup must be full)';
        throw new ErrnoError('EINVAL', describeFormatError(path, e) + hint);
      }
      await io.truncate(0);
      return withLockEvents(await fresh(io));
    }
    const { journal, report } = loaded;
    const h = journal.headerSnapshot();

    const sizeDiffers = h.imageSize !== image.size;
    const clusterDiffers = params.clusterSize !== null && params.clusterSize !== h.clusterSize;
    if (sizeDiffers || clusterDiffers) {
      if (!params.resetJournal) {
        const what = sizeDiffers
          ? `is for an image of ${h.imageSize} bytes but ${image.path} has ${image.size}`
          : `uses cluster size ${formatSizeShort(h.clusterSize)}, not ${formatSizeShort(params.clusterSize!)}`;
        throw new ErrnoError('EINVAL', `journal ${path} ${what}; use --reset-journal to start over`);
      }
      // Formatted anew through the same descriptor, so the lock is never let go meanwhile.
      await io.truncate(0);
      return withLockEvents(await fresh(io));
    }
    if (params.resetJournal) {
      await journal.reset();
      return withLockEvents({ journal, io, verdict: { trusted: true, reason: '', newlyUntrusted: false, crashed: false, events: ['journal reset: new generation'] }, created: false, report, bootId });
    }
    const verdict = assessJournal(h, report, bootId, image);
    return withLockEvents({ journal, io, verdict, created: false, report, bootId });
  } catch (e) {
    await io.close().catch(() => {});
    throw e;
  }
}

export interface OfflineJournal {
  journal: Journal;
  verdict: Verdict;
  /** Locked by a mount or another command: what it says may change under the reader. */
  inUse: boolean;
  /** pid of the live daemon that holds it (from the header), or 0 when not known. */
  liveOwner: number;
}

export type ImageLookup = (path: string) => Promise<{ facts: ImageState | null; note?: string }>;

/**
 * The image a journal header names, looked up for an offline reader. The header is only as
 * trustworthy as whoever could write the file: trackfs records an absolute path, so anything else
 * is not looked at (never handed to a program, never resolved against the reader's directory).
 */
async function lookUpRecordedImage(imagePath: string, lookImage: ImageLookup): Promise<{ facts: ImageState | null; note?: string }> {
  if (!imagePath) return { facts: null, note: 'the journal names no image' };
  if (!isAbsolute(imagePath)) {
    return { facts: null, note: `the journal names its image as '${printable(imagePath)}', not an absolute path: not checked for changes made while unmounted` };
  }
  return lookImage(imagePath);
}

/**
 * Reads a journal without changing it (or, with `writable`, for an offline checkpoint: nothing is
 * written until the caller asks); the caller closes it with abandon().
 */
export async function openJournalOffline(path: string, lookImage: ImageLookup, writable = false): Promise<OfflineJournal & { image: ImageState | null }> {
  const io = await openIo(path, false, !writable);
  const lock = io.lock ? await io.lock(writable) : { unsupported: 'not a file' };
  let loaded;
  try {
    loaded = await Journal.load(io);
  } catch (e) {
    await io.close().catch(() => {});
    if (e instanceof JournalFormatError) throw new ErrnoError('EINVAL', describeFormatError(path, e));
    throw fsError('cannot read journal', path, e);
  }
  const { journal, report } = loaded;
  const h = journal.headerSnapshot();
  const bootId = await currentBootId();
  const holder = holderOf(h, bootId);
  // Without a lock, the header's word is all there is: a daemon alive on this boot that left it active.
  const inUse = lock === 'busy' || (typeof lock === 'object' && holder !== 0 && holder !== process.pid);
  if (inUse) {
    const who = holder ? `trackfs pid ${holder}` : 'locked by another process';
    const verdict: Verdict = h.state === 'untrusted'
      ? { trusted: false, reason: h.reason, newlyUntrusted: false, crashed: false, events: [] }
      : { trusted: true, reason: '', newlyUntrusted: false, crashed: false, events: [`journal is live (${who}); ask the mountpoint for the current view`] };
    return { journal, verdict, inUse: true, liveOwner: holder, image: null };
  }
  const { facts, note } = await lookUpRecordedImage(h.imagePath, lookImage);
  const usable = facts && (facts.isBlockDevice || facts.size === h.imageSize) ? facts : null;
  const verdict = assessJournal(h, report, bootId, usable);
  if (note) verdict.events.push(note);
  else if (facts && !usable) verdict.events.push(`image ${printable(h.imagePath)} now has ${facts.size} bytes, the journal is for ${h.imageSize}: not checked`);
  if (typeof lock === 'object') verdict.events.push(lockUnavailable(lock.unsupported));
  return { journal, verdict, inUse: false, liveOwner: 0, image: usable };
}

/**
 * Takes a checkpoint in a journal that no daemon has open. The journal is judged against its image
 * first, exactly as a mount would; an untrusted one is re-based (new generation, starting from the
 * image as it is now).
 */
export async function checkpointJournalFile(path: string, lookImage: ImageLookup): Promise<{ result: CheckpointResult; verdict: Verdict }> {
  const { journal, verdict, inUse, liveOwner: owner, image } = await openJournalOffline(path, lookImage, true);
  try {
    if (inUse) throw new ErrnoError('EBUSY', `${inUseMessage(path, owner)}${owner ? '; checkpoint its mountpoint instead' : ''}`);
    const h = journal.headerSnapshot();
    if (h.state !== 'untrusted' && !verdict.trusted) await journal.markUntrusted(verdict.reason);
    if (!verdict.trusted && !image) {
      // Re-basing records the image's mtime as the new starting point: it must be known.
      throw new ErrnoError('EIO', `journal ${path} is untrusted (${verdict.reason}) and its image ${printable(h.imagePath) || '(none recorded)'} cannot be checked, so it cannot be re-based`);
    }
    const result = await journal.checkpoint({ state: 'clean', imageMtimeNs: image?.isBlockDevice ? 0n : image?.mtimeNs ?? h.imageMtimeNs });
    return { result, verdict };
  } finally {
    await journal.abandon();
  }
}
