/**
 * A journal file no daemon has open: its status, its changes, a checkpoint. Judged against its
 * image exactly as a mount would (the image is stat'ed from a child process that can be killed:
 * see stat-probe.ts). Used by the CLI and by the backup engine. Errors are one-line ErrnoErrors.
 */
import { checkpointJournalFile, openJournalOffline, type ImageLookup } from '../journal/open.js';
import { changesSince, type ChangeStream } from '../journal/changes.js';
import { formatCheckpointId } from '../journal/checkpoint-id.js';
import { probeImage } from '../volume/stat-probe.js';
import type { CheckpointReply, JournalStatus } from '../control/protocol.js';
import { checkpointReply as replyOf } from '../control/replies.js';
import { isoTime } from '../util/time.js';
import { printable } from '../util/text.js';

const lookImage: ImageLookup = async (p) => {
  const r = await probeImage(p);
  const shown = printable(p);
  if ('facts' in r) return { facts: r.facts };
  if ('timedOut' in r) return { facts: null, note: `image ${shown} did not answer within 3 s (stalled device?): not checked for changes made while unmounted` };
  return { facts: null, note: `image ${shown} cannot be checked (${r.missing}): changes made to it while unmounted cannot be detected` };
};

function open(path: string) {
  return openJournalOffline(path, lookImage);
}

/** Ends the journal's current epoch (re-basing an untrusted one) and says what it did. */
export async function offlineCheckpoint(path: string): Promise<CheckpointReply> {
  const { result: r } = await checkpointJournalFile(path, lookImage);
  return replyOf(r);
}


export async function offlineStatus(path: string): Promise<JournalStatus> {
  const { journal, verdict, inUse, liveOwner } = await open(path);
  try {
    const h = journal.headerSnapshot();
    return {
      source: 'journal',
      journal: path,
      journalState: h.state,
      trusted: verdict.trusted,
      ...(verdict.trusted ? {} : { reason: verdict.reason }),
      inUse,
      liveOwner: liveOwner || null,
      image: h.imagePath,
      imageSize: h.imageSize,
      clusterSize: h.clusterSize,
      totalClusters: journal.clusterCount,
      changedClusters: journal.changedClusterCount(),
      generation: h.generation,
      epoch: h.epoch,
      latestCheckpoint: formatCheckpointId(h.generation, h.epoch - 1),
      lastCheckpointAt: h.lastCheckpointAt ? isoTime(h.lastCheckpointAt) : null,
      durability: h.durability,
      createdAt: isoTime(h.createdAt),
      updatedAt: isoTime(h.updatedAt),
      events: verdict.events,
    };
  } finally {
    await journal.abandon();
  }
}

/** The changes of a journal file, and the image its header names (as written there: unchecked). */
export async function offlineChanges(
  path: string, since: string | null, until: string | null = null,
): Promise<ChangeStream & { imagePath: string }> {
  const { journal, verdict } = await open(path);
  try {
    const list = await changesSince(journal, since, verdict, until);
    // The batches are made from a snapshot of the bitmap: they outlive the journal's file.
    const imagePath = journal.headerSnapshot().imagePath;
    return { summary: list.summary, batches: list.batches(), countClusters: list.countClusters, imagePath };
  } finally {
    await journal.abandon();
  }
}
