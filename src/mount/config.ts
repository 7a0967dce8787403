/** What a mount is asked to do: built and validated by the CLI, passed to the daemon as is. */
import type { Durability } from '../journal/format.js';

export interface MountConfig {
  image: string;
  mountpoint: string;
  journal: string;
  clusterSize: number | null;
  durability: Durability;
  readOnly: boolean;
  allowOther: boolean;
  resetJournal: boolean;
  logFile: string | null;
  /** Bytes marked ahead of a long sequential write stream (0: exact marking). See ChangeTracker. */
  markAhead: number;
  /** Benchmark-only: serve without tracking, to measure what tracking costs. */
  trackingOff: boolean;
}
