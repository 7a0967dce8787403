/**
 * Opening a journal for a mount (create, verify geometry, refuse one in use, judge trust) and for
 * an offline reader (read-only, nothing written). Errors are ErrnoErrors with one-line messages.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { ErrnoError } from '../util/errno.js';
import { processAlive } from '../util/process.js';
import { formatSizeShort } from '../util/size.js';
import { currentBootId } from '../util/boot-id.js';
import { stateDir } from '../util/state-dir.js';
import { JournalFormatError, type JournalHeader } from './format.js';
import { FileJournalIo, FaultInjectingIo, type JournalIo } from './journal-io.js';
import { Journal, soundLoadReport, type CheckpointResult, type LoadReport } from './journal.js';
import { assessJournal, type ImageState, type OrderedFacts, type Verdict } from './recovery.js';
import { lookupRecord, removeRecord, type RecordLookup } from './durability-record.js';
import { compareFsIdentity, fsIdentityOf } from './fs-identity.js';

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
async function judge(journal: Journal, report: LoadReport, bootId: string, image: ImageState | null, file: FileJournalIo): Promise<Verdict> {
  const h = journal.headerSnapshot();
  const verdict = assessJournal(h, report, bootId, image, await orderedFacts(h, bootId, file));
  if (verdict.merge) journal.mergeLostPages(verdict.merge.record.pages);
  return verdict;
}


/** The pid of a live trackfs daemon that holds this journal active, or 0. */
export async function liveOwner(header: { state: string; bootId: string; pid: number }, bootId: string): Promise<number> {
  if (header.state !== 'active' || header.bootId !== bootId || header.pid === process.pid || !processAlive(header.pid)) return 0;
  try {
    const cmdline = await readFile(`/proc/${header.pid}/cmdline`, 'utf8');
    return cmdline.includes('trackfs') ? header.pid : 0;
  } catch {
    // No /proc (macOS): a live pid recorded on this boot is taken as the owner.
    return process.platform === 'linux' ? 0 : header.pid;
  }
}

function describeFormatError(path: string, e: JournalFormatError): string {
  if (e.kind === 'bad-magic' || e.kind === 'too-short') return `${path} is not a trackfs journal`;
  if (e.kind === 'bad-version') return `journal ${path}: ${e.message}`;
  return `journal ${path} is corrupt (${e.message})`;
}

/** Wraps a mount's journal I/O in the fault injector only when the test hooks are on. */
function hooked(io: JournalIo): { io: JournalIo; faults: FaultInjectingIo | null } {
  if (process.env['TRACKFS_TEST_HOOKS'] !== '1') return { io, faults: null };
  const faults = new FaultInjectingIo(io);
  return { io: faults, faults };
}

async function openIo(path: string, create: boolean, readOnly = false): Promise<FileJournalIo> {
  try {
    return await FileJournalIo.open(path, { create, readOnly });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new ErrnoError('ENOENT', create ? `cannot create journal ${path}: directory does not exist` : `journal ${path} does not exist`);
    if (err.code === 'EACCES' || err.code === 'EPERM' || err.code === 'EROFS') throw new ErrnoError('EACCES', `cannot open journal ${path} (${err.code})`);
    if (err.code === 'EISDIR') throw new ErrnoError('EISDIR', `journal ${path} is a directory`);
    throw new ErrnoError('EIO', `cannot open journal ${path}: ${err.message}`);
  }
}

export async function openJournalForMount(params: {
  path: string;
  image: ImageState & { path: string };
  /** null: take the journal's own, or the default for a new journal. */
  clusterSize: number | null;
  resetJournal: boolean;
}): Promise<OpenedJournal> {
  const { path, image } = params;
  const bootId = await currentBootId();
  const identify = async (file: FileJournalIo) => {
    const st = await file.stat();
    return { fsIdentity: await fsIdentityOf(file.fd), file: { dev: st.dev, ino: st.ino } };
  };
  const fresh = async (file: FileJournalIo, { io, faults }: { io: JournalIo; faults: FaultInjectingIo | null }): Promise<OpenedJournal> => {
    const journal = await Journal.create(io, { imageSize: image.size, clusterSize: params.clusterSize ?? DEFAULT_CLUSTER_SIZE, imagePath: image.path });
    const verdict: Verdict = { trusted: true, reason: '', newlyUntrusted: false, crashed: false, events: [] };
    return { journal, faults, verdict, created: true, report: soundLoadReport(), bootId, ...(await identify(file)) };
  };

  if (!existsSync(path)) {
    const file = await openIo(path, true);
    return fresh(file, hooked(file));
  }

  const file = await openIo(path, false);
  const { io, faults } = hooked(file);
  try {
    let loaded;
    try {
      loaded = await Journal.load(io);
    } catch (e) {
      if (!(e instanceof JournalFormatError)) throw new ErrnoError('EIO', `cannot read journal ${path}: ${(e as Error).message}`);
      if (!params.resetJournal || e.kind === 'bad-magic' || e.kind === 'too-short') {
        // Never format over something that is not ours, even when asked to reset.
        const hint = e.kind === 'bad-magic' || e.kind === 'too-short' ? '; refusing to overwrite it' : '; use --reset-journal to start over (the next backup must be full)';
        throw new ErrnoError('EINVAL', describeFormatError(path, e) + hint);
      }
      await io.truncate(0);
      return await fresh(file, { io, faults });
    }
    const { journal, report } = loaded;
    const h = journal.headerSnapshot();
    const owner = await liveOwner(h, bootId);
    if (owner) throw new ErrnoError('EBUSY', `journal ${path} is in use by trackfs (pid ${owner})`);

    const sizeDiffers = h.imageSize !== image.size;
    const clusterDiffers = params.clusterSize !== null && params.clusterSize !== h.clusterSize;
    if (sizeDiffers || clusterDiffers) {
      if (!params.resetJournal) {
        const what = sizeDiffers
          ? `is for an image of ${h.imageSize} bytes but ${image.path} has ${image.size}`
          : `uses cluster size ${formatSizeShort(h.clusterSize)}, not ${formatSizeShort(params.clusterSize!)}`;
        throw new ErrnoError('EINVAL', `journal ${path} ${what}; use --reset-journal to start over`);
      }
      await journal.abandon();
      const file2 = await openIo(path, false);
      const again = hooked(file2);
      await again.io.truncate(0);
      return await fresh(file2, again);
    }
    if (params.resetJournal) {
      await journal.reset();
      // The old history is gone, and with it what a durability record of it was about.
      await removeRecord(stateDir(), h.generation).catch(() => {});
      return { journal, faults, verdict: { trusted: true, reason: '', newlyUntrusted: false, crashed: false, events: ['journal reset: new generation'] }, created: false, report, bootId, ...(await identify(file)) };
    }
    const verdict = await judge(journal, report, bootId, image, file);
    return { journal, faults, verdict, created: false, report, bootId, ...(await identify(file)) };
  } catch (e) {
    await io.close().catch(() => {});
    throw e;
  }
}

export interface OfflineJournal {
  journal: Journal;
  verdict: Verdict;
  /** pid of a live daemon that has it active, or 0. */
  liveOwner: number;
}

export type ImageLookup = (path: string) => Promise<{ facts: ImageState | null; note?: string }>;

/**
 * Reads a journal without changing it (or, with `writable`, for an offline checkpoint: nothing is
 * written until the caller asks); the caller closes it with abandon().
 */
export async function openJournalOffline(path: string, lookImage: ImageLookup, writable = false): Promise<OfflineJournal & { image: ImageState | null }> {
  const io = await openIo(path, false, !writable);
  let loaded;
  try {
    loaded = await Journal.load(io);
  } catch (e) {
    await io.close().catch(() => {});
    if (e instanceof JournalFormatError) throw new ErrnoError('EINVAL', describeFormatError(path, e));
    throw new ErrnoError('EIO', `cannot read journal ${path}: ${(e as Error).message}`);
  }
  const { journal, report } = loaded;
  const h = journal.headerSnapshot();
  const bootId = await currentBootId();
  const owner = await liveOwner(h, bootId);
  if (owner) {
    const verdict: Verdict = h.state === 'untrusted'
      ? { trusted: false, reason: h.reason, newlyUntrusted: false, crashed: false, events: [] }
      : { trusted: true, reason: '', newlyUntrusted: false, crashed: false, events: [`journal is live (trackfs pid ${owner}); ask the mountpoint for the current view`] };
    return { journal, verdict, liveOwner: owner, image: null };
  }
  const { facts, note } = h.imagePath ? await lookImage(h.imagePath) : { facts: null, note: 'the journal names no image' };
  const usable = facts && (facts.isBlockDevice || facts.size === h.imageSize) ? facts : null;
  const verdict = await judge(journal, report, bootId, usable, io);
  if (note) verdict.events.push(note);
  else if (facts && !usable) verdict.events.push(`image ${h.imagePath} now has ${facts.size} bytes, the journal is for ${h.imageSize}: not checked`);
  return { journal, verdict, liveOwner: 0, image: usable };
}

/**
 * Takes a checkpoint in a journal that no daemon has open. The journal is judged against its image
 * first, exactly as a mount would; an untrusted one is re-based (new generation, starting from the
 * image as it is now).
 */
export async function checkpointJournalFile(path: string, lookImage: ImageLookup): Promise<{ result: CheckpointResult; verdict: Verdict }> {
  const { journal, verdict, liveOwner: owner, image } = await openJournalOffline(path, lookImage, true);
  try {
    if (owner) throw new ErrnoError('EBUSY', `journal ${path} is in use by trackfs (pid ${owner}); checkpoint its mountpoint instead`);
    const h = journal.headerSnapshot();
    if (h.state !== 'untrusted' && !verdict.trusted) await journal.markUntrusted(verdict.reason);
    if (!verdict.trusted && !image) {
      // Re-basing records the image's mtime as the new starting point: it must be known.
      throw new ErrnoError('EIO', `journal ${path} is untrusted (${verdict.reason}) and its image ${h.imagePath || '(none recorded)'} cannot be checked, so it cannot be re-based`);
    }
    const result = await journal.checkpoint({ state: 'clean', imageMtimeNs: image?.isBlockDevice ? 0n : image?.mtimeNs ?? h.imageMtimeNs });
    // Everything is durable in the journal now (merged bits included), or the history was re-based.
    await removeRecord(stateDir(), h.generation).catch(() => {});
    return { result, verdict };
  } finally {
    await journal.abandon();
  }
}
