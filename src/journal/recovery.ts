/**
 * Decides, when a journal is opened, whether its bitmap can still be trusted. Pure: the caller
 * gathers the facts (boot id, the image's stat) and acts on the verdict (marks the journal
 * untrusted, logs the events). The mount and the offline readers share these rules.
 */
import type { JournalHeader } from './format.js';
import type { LoadReport } from './journal.js';

/** What recovery needs to know of the image now (a subset of volume/image.ts ImageFacts). */
export interface ImageState {
  mtimeNs: bigint;
  size: number;
  /** A block device has no meaningful mtime: changes made while unmounted cannot be seen. */
  isBlockDevice: boolean;
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

export function assessJournal(header: Readonly<JournalHeader>, report: LoadReport, currentBootId: string, image: ImageState | null): Verdict {
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
        : 'journal was left active (daemon stopped without unmounting) on this boot; ordered mode: every issued write is recorded',
    );
    if (torn > 0) events.push(`${torn} torn journal page(s) taken as fully changed`);
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
