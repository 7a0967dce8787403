/** Status and changes of a journal file read offline (no daemon). */
import { openJournalOffline } from '../journal/open.js';
import { changesReport, type ChangesReport } from '../journal/changes.js';
import { inspectImage } from '../volume/image.js';
import { CliError } from './errors.js';

async function open(path: string) {
  try {
    return await openJournalOffline(path, (p) => inspectImage(p).catch(() => null));
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

export async function offlineStatus(path: string): Promise<Record<string, unknown>> {
  const { journal, verdict, liveOwner } = await open(path);
  try {
    const h = journal.headerSnapshot();
    return {
      source: 'journal',
      journal: path,
      journalState: h.state,
      trusted: verdict.trusted,
      reason: verdict.trusted ? undefined : verdict.reason,
      liveOwner: liveOwner || null,
      image: h.imagePath,
      imageSize: h.imageSize,
      clusterSize: h.clusterSize,
      totalClusters: journal.clusterCount,
      changedClusters: journal.cache.marked.countSet(),
      generation: h.generation,
      durability: h.durability,
      createdAt: new Date(h.createdAt).toISOString(),
      updatedAt: new Date(h.updatedAt).toISOString(),
      events: verdict.events,
    };
  } finally {
    await journal.abandon();
  }
}

export async function offlineChanges(path: string): Promise<ChangesReport> {
  const { journal, verdict } = await open(path);
  try {
    const h = journal.headerSnapshot();
    return changesReport({ bitmap: journal.cache.marked, imageSize: h.imageSize, clusterSize: h.clusterSize, generation: h.generation, trusted: verdict.trusted, reason: verdict.reason });
  } finally {
    await journal.abandon();
  }
}
