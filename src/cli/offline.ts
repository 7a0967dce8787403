/** Status and changes of a journal file read offline (no daemon). */
import { checkpointJournalFile, openJournalOffline, type ImageLookup } from '../journal/open.js';
import { changesSince, type ChangesReport } from '../journal/changes.js';
import type { CheckpointResult } from '../journal/journal.js';
import type { Verdict } from '../journal/recovery.js';
import { formatCheckpointId } from '../journal/checkpoint-id.js';
import { probeImage } from '../volume/stat-probe.js';
import { CliError } from './errors.js';
import { printable } from '../util/text.js';

const lookImage: ImageLookup = async (p) => {
  const r = await probeImage(p);
  const shown = printable(p);
  if ('facts' in r) return { facts: r.facts };
  if ('timedOut' in r) return { facts: null, note: `image ${shown} did not answer within 3 s (stalled device?): not checked for changes made while unmounted` };
  return { facts: null, note: `image ${shown} cannot be checked (${r.missing}): changes made to it while unmounted cannot be detected` };
};

async function open(path: string) {
  try {
    return await openJournalOffline(path, lookImage);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

export async function offlineCheckpoint(path: string): Promise<{ result: CheckpointResult; verdict: Verdict }> {
  try {
    return await checkpointJournalFile(path, lookImage);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

export async function offlineStatus(path: string): Promise<Record<string, unknown>> {
  const { journal, verdict, inUse, liveOwner } = await open(path);
  try {
    const h = journal.headerSnapshot();
    return {
      source: 'journal',
      journal: path,
      journalState: h.state,
      trusted: verdict.trusted,
      reason: verdict.trusted ? undefined : verdict.reason,
      inUse,
      liveOwner: liveOwner || null,
      image: h.imagePath,
      imageSize: h.imageSize,
      clusterSize: h.clusterSize,
      totalClusters: journal.clusterCount,
      changedClusters: journal.cache.marked.countSet(),
      generation: h.generation,
      epoch: h.epoch,
      latestCheckpoint: formatCheckpointId(h.generation, h.epoch - 1),
      lastCheckpointAt: h.lastCheckpointAt ? new Date(h.lastCheckpointAt).toISOString() : null,
      durability: h.durability,
      createdAt: new Date(h.createdAt).toISOString(),
      updatedAt: new Date(h.updatedAt).toISOString(),
      events: verdict.events,
    };
  } finally {
    await journal.abandon();
  }
}

export async function offlineChanges(path: string, since: string | null): Promise<ChangesReport> {
  const { journal, verdict } = await open(path);
  try {
    return await changesSince(journal, since, verdict);
  } catch (e) {
    throw new CliError((e as Error).message);
  } finally {
    await journal.abandon();
  }
}
