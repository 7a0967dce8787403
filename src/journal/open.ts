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
import { stateDir } from '../util/state-dir.js';
import { JournalFormatError, type JournalHeader } from './format.js';
import { FileJournalIo, FaultInjectingIo, ReadOnlyOverlayIo, type JournalIo } from './journal-io.js';
import { Journal, soundLoadReport, type CheckpointResult, type LoadReport } from './journal.js';
import { assessJournal, type ImageState, type OrderedFacts, type Verdict } from './recovery.js';
import { lookupRecord, removeRecord, type RecordLookup } from './durability-record.js';
import { compareFsIdentity, fsIdentityOf } from './fs-identity.js';
import { fsError } from '../util/fs-errors.js';

export const DEFAULT_CLUSTER_SIZE = 64 * 1024;

export interface OpenedJournal {
  journal: Journal;
  /** The test hook's handle on the journal's I/O; null unless TRACKFS_TEST_HOOKS=1. */
  faults: FaultInjectingIo | null;
  verdict: Verdict;
  created: boolean;
  report: LoadReport;
  bootId: string;
  /** The journal file's mount now (fs-identity.ts), for the header at activation. */
  fsIdentity: string;
  /** The journal file's device and inode numbers (a durability record names them). */
  file: { dev: bigint; ino: bigint };
}

/**
 * The facts the ordered-mode recovery rules need (recovery.ts), gathered in the order of the
 * rules, each only when the ones before did not decide. Null when they do not apply: the journal
 * is not an ordered one left active on this boot.
 */
async function orderedFacts(h: Readonly<JournalHeader>, bootId: string, file: FileJournalIo): Promise<OrderedFacts | null> {
  if (h.state !== 'active' || h.durability !== 'ordered' || !h.bootId || h.bootId !== bootId) return null;
  const st = await file.stat();
  const notes: string[] = [];
  let record: RecordLookup;
  const uid = process.geteuid?.();
  if (uid !== undefined && st.uid !== BigInt(uid)) {
    // Its daemon ran as that user and kept its records in that user's state directory.
    record = { kind: 'unusable', why: `the journal belongs to uid ${st.uid}, whose durability records this user (uid ${uid}) does not keep; read it as that user` };
  } else {
    record = await lookupRecord(stateDir(), h.generation);
    if (record.kind === 'found' && record.record.journal.inode !== String(st.ino)) {
      notes.push(`ignored ${record.path}: it is about another journal file of this generation (inode ${record.record.journal.inode}, this one is ${st.ino})`);
      record = { kind: 'none' };
    }
  }
  if (record.kind !== 'none') return { record, notes };
  const fsIdentity = await fsIdentityOf(file.fd);
  if (compareFsIdentity(h.fsIdentity, fsIdentity) === 'different') return { record, fsIdentity, notes };
  // An unseen write-back error is reported to the first fdatasync of any descriptor.
  const syncError = await file.datasync().then(() => null, (e: NodeJS.ErrnoException) => `${e.code ?? 'error'}: ${e.message}`);
  return { record, fsIdentity, syncError, notes };
}

/** Judges a loaded journal and merges the bits of a durability record the verdict counts on. */
async function judge(
  journal: Journal,
  report: LoadReport,
  bootId: string,
  image: ImageState | null,
  file: FileJournalIo,
): Promise<Verdict> {
  const h = journal.headerSnapshot();
  const verdict = assessJournal(h, report, bootId, image, await orderedFacts(h, bootId, file));
  if (verdict.merge) journal.mergeLostPages(verdict.merge.record.pages);
  return verdict;
}

/** Wraps a mount's journal I/O in the fault injector only when the test hooks are on. */
function hooked(io: JournalIo): { io: JournalIo; faults: FaultInjectingIo | null } {
  if (process.env['TRACKFS_TEST_HOOKS'] !== '1') return { io, faults: null };
  const faults = new FaultInjectingIo(io);
  return { io: faults, faults };
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

async function openIo(path: string, create: boolean, readOnly = false): Promise<FileJournalIo> {
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
  const identify = async (file: FileJournalIo) => {
    const st = await file.stat();
    return { fsIdentity: await fsIdentityOf(file.fd), file: { dev: st.dev, ino: st.ino } };
  };
  const fresh = async (file: FileJournalIo, { io, faults }: { io: JournalIo; faults: FaultInjectingIo | null }): Promise<OpenedJournal> => {
    let journal: Journal;
    try {
      journal = await Journal.create(io, {
        imageSize: image.size,
        clusterSize: params.clusterSize ?? DEFAULT_CLUSTER_SIZE,
        imagePath: image.path,
      });
    } catch (e) {
      throw fsError('cannot create journal', path, e);
    }
    const verdict: Verdict = { trusted: true, reason: '', newlyUntrusted: false, crashed: false, events: [] };
    return { journal, faults, verdict, created: true, report: soundLoadReport(), bootId, ...(await identify(file)) };
  };

  const lockEvents: string[] = [];
  /** Takes the exclusive lock of a mount on `file`, or closes it and throws. */
  const lockForMount = async (file: FileJournalIo): Promise<FileJournalIo> => {
    const io = file;
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
    const file = await lockForMount(await openIo(path, true));
    try {
      if (image.access) await file.limitAccess(image.access);
      return withLockEvents(await fresh(file, hooked(file)));
    } catch (e) {
      // Made here, exclusively, and not usable: nothing half-made is left for the next mount.
      await file.removeIfStillAt(path).catch(() => {});
      await file.close().catch(() => {});
      throw e;
    }
  }

  const file = await lockForMount(await openIo(path, false, params.readOnly));
  const { io, faults } = hooked(params.readOnly ? new ReadOnlyOverlayIo(file) : file);
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
      return withLockEvents(await fresh(file, { io, faults }));
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
      return withLockEvents(await fresh(file, { io, faults }));
    }
    if (params.resetJournal) {
      await journal.reset();
      // The old history is gone, and with it what a durability record of it was about.
      await removeRecord(stateDir(), h.generation).catch(() => {});
      const events = ['journal reset: new generation'];
      return withLockEvents({ journal, faults, verdict: { trusted: true, reason: '', newlyUntrusted: false, crashed: false, events }, created: false, report, bootId, ...(await identify(file)) });
    }
    const verdict = await judge(journal, report, bootId, image, file);
    return withLockEvents({ journal, faults, verdict, created: false, report, bootId, ...(await identify(file)) });
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
export async function openJournalOffline(
  path: string,
  lookImage: ImageLookup,
  writable = false,
): Promise<OfflineJournal & { image: ImageState | null }> {
  const io = await openIo(path, false, !writable);
  const lock = await io.lock(writable);
  const bootId = await currentBootId();
  // The image is looked up (a child process) while the pages are read, unless the journal is in
  // use and the lookup would be wasted.
  let lookup: Promise<{ facts: ImageState | null; note?: string }> | null = null;
  const startLookup = (h: Readonly<JournalHeader>) => {
    if (lock === 'busy' || (typeof lock === 'object' && holderOf(h, bootId) !== 0)) return;
    lookup = lookUpRecordedImage(h.imagePath, lookImage);
    lookup.catch(() => {}); // awaited below; a load that fails first leaves it unobserved
  };
  let loaded;
  try {
    loaded = await Journal.load(io, startLookup);
  } catch (e) {
    await io.close().catch(() => {});
    if (e instanceof JournalFormatError) throw new ErrnoError('EINVAL', describeFormatError(path, e));
    throw fsError('cannot read journal', path, e);
  }
  const { journal, report } = loaded;
  const h = journal.headerSnapshot();
  const holder = holderOf(h, bootId);
  // Without a lock, the header's word is all there is: a daemon alive on this boot that left it active.
  const inUse = lock === 'busy' || (typeof lock === 'object' && holder !== 0 && holder !== process.pid);
  if (inUse) {
    const who = holder ? `trackfs pid ${holder}` : 'locked by another process';
    const verdict: Verdict =
      h.state === 'untrusted'
        ? { trusted: false, reason: h.reason, newlyUntrusted: false, crashed: false, events: [] }
        : {
            trusted: true,
            reason: '',
            newlyUntrusted: false,
            crashed: false,
            events: [`journal is live (${who}); ask the mountpoint for the current view`],
          };
    return { journal, verdict, inUse: true, liveOwner: holder, image: null };
  }
  const { facts, note } = await (lookup ?? lookUpRecordedImage(h.imagePath, lookImage));
  const usable = facts && (facts.isBlockDevice || facts.size === h.imageSize) ? facts : null;
  const verdict = await judge(journal, report, bootId, usable, io);
  if (note) verdict.events.push(note);
  else if (facts && !usable)
    verdict.events.push(`image ${printable(h.imagePath)} now has ${facts.size} bytes, the journal is for ${h.imageSize}: not checked`);
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
    // Everything is durable in the journal now (merged bits included), or the history was re-based.
    await removeRecord(stateDir(), h.generation).catch(() => {});
    return { result, verdict };
  } finally {
    await journal.abandon();
  }
}
