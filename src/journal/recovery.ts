/**
 * Decides, when a journal is opened, whether its bitmap can still be trusted. Pure: the caller
 * gathers the facts (boot id, the image's stat, for an ordered journal left active the durability
 * record, the journal file system's identity and an fdatasync of the journal) and acts on the
 * verdict (merges a record's bits, marks the journal untrusted, logs the events). The mount and
 * the offline readers share these rules.
 *
 * An ordered-mode journal left active on this boot is trusted only when trackfs can show that the
 * storage under it lost nothing it had not synced. In this order:
 *   1. a durability record of its generation (the daemon saw the journal fail): merge its bits
 *      (trusted), or, if it could not hold them or is damaged, untrusted;
 *   2. the journal's file system is another mount than at activation (unmounted and mounted again,
 *      cleanly or after its disk failed: its page cache is gone): untrusted;
 *   3. an fdatasync of the journal now fails (a write-back error nobody has seen): untrusted;
 *   4. otherwise only the daemon died, and the page cache kept every bit: trusted.
 */
import { clusterCountFor, pageCountFor, type JournalHeader } from './format.js';
import type { LoadReport } from './journal.js';
import { isoTime } from '../util/time.js';
import { recordClusterCount, type DurabilityRecord, type RecordLookup } from './durability-record.js';
import { compareFsIdentity } from './fs-identity.js';

/** What recovery needs to know of the image now (a subset of volume/image.ts ImageFacts). */
export interface ImageState {
  mtimeNs: bigint;
  size: number;
  /** A block device has no meaningful mtime: changes made while unmounted cannot be seen. */
  isBlockDevice: boolean;
}

/**
 * What the caller found out for an ordered journal left active on this boot, gathered in the order
 * of the rules: a later fact is left undefined when an earlier one decided.
 */
export interface OrderedFacts {
  record: RecordLookup;
  /** The journal file's mount now (fs-identity.ts); '' unknown. */
  fsIdentity?: string;
  /** An fdatasync of the journal now: null when it succeeded, else the error. */
  syncError?: string | null;
  /** What the caller noticed on the way (a record for another file, ...). */
  notes?: string[];
}

export interface Verdict {
  trusted: boolean;
  /** Why the journal is untrusted (new or already recorded); empty when trusted. */
  reason: string;
  /** True when this verdict newly distrusts a journal whose header still says otherwise. */
  newlyUntrusted: boolean;
  /** The header was left active: a daemon or a host stopped without closing the journal. */
  crashed: boolean;
  /** What happened, one line each, for the log and for status. */
  events: string[];
  /** A durability record whose bits the caller merges into the journal (the verdict counts on it). */
  merge?: { path: string; record: DurabilityRecord };
}

function pages(n: number): string {
  return n === 1 ? '1 page' : `${n} pages`;
}

/**
 * Why the journal has lost changes, whatever its state: a file cut short, or pages that held changes
 * and now read as never written. Empty when neither.
 */
export function lossOf(report: LoadReport): string {
  if (report.missingPages > 0) return `journal is shorter than its geometry requires (truncated): ${pages(report.missingPages)} missing`;
  if (report.lostPages > 0) {
    return report.lostPages === 1
      ? '1 journal page that held changes is zeroed or missing'
      : `${report.lostPages} journal pages that held changes are zeroed or missing`;
  }
  return '';
}

const LOST = 'changes not yet synced may be lost';

function when(ms: number): string {
  return isoTime(ms) ?? 'an unknown time';
}

/** The part of the rules that only an ordered journal left active on this boot goes through. */
function judgeOrderedCrash(header: Readonly<JournalHeader>, facts: OrderedFacts, events: string[]): Omit<Verdict, 'crashed' | 'events'> {
  const untrusted = (reason: string) => ({ trusted: false, reason, newlyUntrusted: true });
  events.push(...(facts.notes ?? []));
  const r = facts.record;
  if (r.kind === 'found') {
    const rec = r.record;
    const at = when(rec.lostAt);
    if (!rec.complete) {
      return untrusted(`the journal's disk failed at ${at} before changes were synced (${rec.reason}), and ${rec.pagesAtRisk} journal pages were waiting, too many to keep: ${LOST}`);
    }
    const pages = pageCountFor(clusterCountFor(header.imageSize, header.clusterSize));
    if (rec.imageSize !== header.imageSize || rec.clusterSize !== header.clusterSize || rec.pages.some((p) => p.index >= pages)) {
      return untrusted(`the record of a durability loss of this journal (${r.path}) does not fit its geometry (damaged): ${LOST}`);
    }
    events.push(`the journal's disk failed at ${at} before changes were synced (${rec.reason}); the ${recordClusterCount(rec)} cluster(s) kept in ${r.path} were merged`);
    return { trusted: true, reason: '', newlyUntrusted: false, merge: { path: r.path, record: rec } };
  }
  if (r.kind === 'damaged') return untrusted(`the record of a durability loss of this journal (${r.path}) is damaged (${r.why}): ${LOST}`);
  if (r.kind === 'unusable') return untrusted(`whether the journal's disk failed cannot be checked (${r.why}): ${LOST}`);
  const identity = compareFsIdentity(header.fsIdentity, facts.fsIdentity ?? '');
  if (identity === 'different') {
    return untrusted(`the journal's file system was unmounted or its disk failed since the daemon stopped (mount ${header.fsIdentity} then, ${facts.fsIdentity} now): ${LOST}`);
  }
  if (facts.syncError) return untrusted(`the journal's storage lost unsynced data since the daemon stopped (fdatasync failed: ${facts.syncError}): ${LOST}`);
  if (identity === 'unknown') {
    events.push(`the journal's file system cannot be identified (${header.fsIdentity || 'unknown'} at activation, ${facts.fsIdentity || 'unknown'} now): an unmount of it since the crash would not be noticed`);
  }
  const checks = [identity === 'same' ? 'the journal\'s file system stayed mounted' : '', facts.syncError === null ? 'its fdatasync succeeds' : ''].filter(Boolean);
  events.push(`no durability loss recorded${checks.length ? `, ${checks.join(' and ')}` : ''}: every issued write is recorded`);
  return { trusted: true, reason: '', newlyUntrusted: false };
}

export function assessJournal(
  header: Readonly<JournalHeader>,
  report: LoadReport,
  currentBootId: string,
  image: ImageState | null,
  ordered: OrderedFacts | null = null,
): Verdict {
  const events: string[] = [];
  for (const slot of report.damagedHeaderSlots) events.push(`header slot ${slot} did not verify (torn write); the other slot was used`);
  const torn = report.damagedPages.length;
  const crashed = header.state === 'active';
  const loss = lossOf(report);

  if (header.state === 'untrusted') {
    if (loss) events.push(loss);
    return { trusted: false, reason: header.reason || 'journal was marked untrusted', newlyUntrusted: false, crashed: false, events };
  }

  // Changes that are gone cannot be listed, clean close or crash alike.
  if (loss) return { trusted: false, reason: loss, newlyUntrusted: true, crashed, events };

  if (crashed) {
    if (header.durability === 'ordered' && (header.bootId === '' || header.bootId !== currentBootId)) {
      events.push('journal was left active in ordered mode and the host has restarted since');
      return {
        trusted: false,
        reason: 'host restarted while the journal was active in ordered mode: bits not yet synced may be lost',
        newlyUntrusted: true,
        crashed,
        events,
      };
    }
    events.push(
      header.durability === 'strict'
        ? 'journal was left active (daemon stopped without unmounting); strict mode: every acknowledged write is recorded'
        : 'journal was left active (daemon stopped without unmounting) on this boot, in ordered mode',
    );
    if (torn > 0) events.push(`${torn} torn journal page(s) taken as fully changed`);
    if (header.durability === 'ordered') {
      const v = judgeOrderedCrash(header, ordered ?? { record: { kind: 'none' } }, events);
      if (!v.trusted) events.push(v.reason);
      return { ...v, crashed, events };
    }
    return { trusted: true, reason: '', newlyUntrusted: false, crashed, events };
  }

  // Clean close: anything damaged now is corruption, and the image must be as we left it.
  if (torn > 0) {
    return {
      trusted: false,
      reason: `${torn} journal page(s) failed verification after a clean close (corruption)`,
      newlyUntrusted: true,
      crashed,
      events,
    };
  }
  if (image && !image.isBlockDevice && header.imageMtimeNs !== 0n && image.mtimeNs !== header.imageMtimeNs) {
    return {
      trusted: false,
      reason: 'image was modified while not mounted by trackfs (mtime differs from the clean unmount)',
      newlyUntrusted: true,
      crashed,
      events,
    };
  }
  return { trusted: true, reason: '', newlyUntrusted: false, crashed, events };
}
