/** What `trackfs status MOUNTPOINT` shows, built from the parts of a mount that know it. */
import type { MountStatus } from '../control/protocol.js';
import { formatCheckpointId } from '../journal/checkpoint-id.js';
import type { JournalStats } from '../journal/journal.js';
import type { JournalView } from './backing.js';
import type { FailureLog } from './failures.js';
import type { Lifecycle } from './lifecycle.js';
import type { MountConfig } from './config.js';
import type { DataPathReport } from '../volume/volume.js';
import { isoTime } from '../util/time.js';

export interface StatusParts {
  config: MountConfig;
  lifecycle: Lifecycle;
  startedAt: number;
  mountpoint: string;
  imageSize: number | null;
  view: JournalView | null;
  /** Present while the journal is open. */
  stats: JournalStats | null;
  backingOpen: boolean;
  failures: FailureLog;
  stuckCalls: number;
  dataPath: DataPathReport | null;
  durability: Pick<MountStatus, 'durabilityLoss' | 'durabilityRecords'>;
  openHandles: number;
  inFlight: number;
}

/** A time for people, or null for "never" (0) and for anything Date cannot show. */
function when(ms: number): string | null {
  return ms ? isoTime(ms) : null;
}

export function buildMountStatus(p: StatusParts): MountStatus {
  const c = p.config;
  const h = p.view?.header;
  const stats = p.stats;
  return {
    source: 'mount',
    state: p.lifecycle.state,
    stateReason: p.lifecycle.reason,
    stateSince: when(p.lifecycle.since) ?? '',
    pid: process.pid,
    startedAt: when(p.startedAt) ?? '',
    mountpoint: p.mountpoint,
    image: c.image,
    imageSize: p.imageSize ?? h?.imageSize ?? null,
    journal: c.journal,
    journalState: h?.state ?? null,
    backing: p.backingOpen ? 'open' : 'released',
    durability: c.durability,
    readOnly: c.readOnly,
    tracking: !c.trackingOff,
    markAhead: c.markAhead,
    clusterSize: h?.clusterSize ?? null,
    totalClusters: p.view?.total ?? null,
    changedClusters: p.view?.changed ?? null,
    generation: h?.generation ?? null,
    epoch: h?.epoch ?? null,
    latestCheckpoint: h ? formatCheckpointId(h.generation, h.epoch - 1) : null,
    lastCheckpointAt: h ? when(h.lastCheckpointAt) : null,
    trusted: h ? h.state !== 'untrusted' : null,
    ...(h?.state === 'untrusted' ? { reason: h.reason } : {}),
    lastCommitAt: stats ? when(stats.lastCommitAt) : null,
    commits: stats?.commits ?? 0,
    syncs: stats?.syncs ?? 0,
    failedCommits: stats?.failedCommits ?? 0,
    failedWrites: p.failures.journalFailures,
    imageErrors: p.failures.imageFailures,
    stuckCalls: p.stuckCalls,
    dataPath: p.dataPath,
    ...p.durability,
    lastError: stats?.lastError ? { code: stats.lastError.code, message: stats.lastError.message, at: when(stats.lastError.at) ?? '' } : null,
    openHandles: p.openHandles,
    inFlight: p.inFlight,
    events: p.failures.events,
    logFile: c.logFile,
  };
}
