/**
 * The control channel between the CLI and a live daemon: one Unix socket per mount, one JSON
 * request per connection, one JSON reply line. Requests never touch the FUSE mount itself, so the
 * daemon answers in every lifecycle state.
 *
 * `ControlOps` is the whole protocol: each operation, what its request carries and what its reply
 * is. Both ends are typed from it; nothing re-declares a reply.
 *
 * A reply is one JSON line: `{"ok":true,"result":...}` or `{"ok":false,"error":{code,message}}`.
 * An operation with `items` streams them after its result, so no reply is ever one huge string:
 *   {"ok":true,"result":<summary>,"stream":true}
 *   {"items":[...]}            as many lines as it takes, each bounded
 *   {"end":true,"count":N}     or an error line, if making the items failed half-way
 */
import type { ChangesSummary, Extent } from '../journal/changes.js';
import type { Durability, JournalState } from '../journal/format.js';
import type { MountState } from '../mount/lifecycle.js';
import type { DurabilityLossView } from '../mount/durability.js';
import type { DataPathReport } from '../volume/volume.js';

/** A journal error as status shows it. */
export interface ReportedError {
  code: string;
  message: string;
  at: string;
}

/** What a live mount says of itself (`trackfs status MOUNTPOINT`). */
export interface MountStatus {
  source: 'mount';
  state: MountState;
  stateReason: string;
  stateSince: string;
  pid: number;
  startedAt: string;
  mountpoint: string;
  image: string;
  imageSize: number | null;
  journal: string;
  journalState: JournalState | null;
  backing: 'open' | 'released';
  durability: Durability;
  readOnly: boolean;
  tracking: boolean;
  markAhead: number;
  clusterSize: number | null;
  totalClusters: number | null;
  changedClusters: number | null;
  generation: string | null;
  epoch: number | null;
  latestCheckpoint: string | null;
  lastCheckpointAt: string | null;
  trusted: boolean | null;
  reason?: string;
  lastCommitAt: string | null;
  commits: number;
  syncs: number;
  failedCommits: number;
  /** Writes refused because the journal could not record them. */
  failedWrites: number;
  imageErrors: number;
  /** Calls on the backing given up on at their time limit (a stalled device), since the mount; exit then goes by SIGKILL. */
  stuckCalls: number;
  /** Which path serves requests (native: C on libfuse's threads; javascript), and what each served. */
  dataPath: DataPathReport | null;
  /** Ordered mode: the last time the journal's disk failed before changes were synced (null: never). */
  durabilityLoss: DurabilityLossView | null;
  /** Why durability records cannot be kept, when they cannot. */
  durabilityRecords?: string;
  lastError: ReportedError | null;
  openHandles: number;
  inFlight: number;
  events: string[];
  logFile: string | null;
}

/** What a journal file says of itself, read offline (`trackfs status JOURNAL`). */
export interface JournalStatus {
  source: 'journal';
  journal: string;
  journalState: JournalState;
  trusted: boolean;
  reason?: string;
  /** Locked by another process (a mount, or a command writing it): what it says may be moving. */
  inUse: boolean;
  /** pid of the live daemon that has the journal active, as its header names it, or null. */
  liveOwner: number | null;
  image: string;
  imageSize: number;
  clusterSize: number;
  totalClusters: number;
  changedClusters: number;
  generation: string;
  epoch: number;
  latestCheckpoint: string;
  lastCheckpointAt: string | null;
  durability: Durability;
  createdAt: string | null;
  updatedAt: string | null;
  events: string[];
}

export interface CheckpointReply {
  id: string;
  generation: string;
  checkpoint: number;
  at: string;
  rebased: boolean;
  rebasedFrom?: string;
}

export interface EjectReply {
  state: MountState;
  journalClean: boolean;
}

export interface ResumeReply {
  state: MountState;
  trusted: boolean;
  reason?: string;
}

export interface ShutdownSummary {
  journalClean: boolean;
  errors: string[];
}

export type FaultOp = 'write' | 'datasync' | 'read' | 'truncate';

/** A request that carries nothing but its op. */
type NoFields = Record<never, never>;

export interface ControlOps {
  status: { request: NoFields; reply: MountStatus };
  /** `until` (optional: older CLIs omit it) bounds the list to a later checkpoint; the reply echoes it. */
  changes: { request: { since: string | null; until?: string | null }; reply: ChangesSummary; items: Extent };
  checkpoint: { request: NoFields; reply: CheckpointReply };
  unmount: { request: { lazy: boolean }; reply: ShutdownSummary };
  sync: { request: NoFields; reply: { synced: true } };
  eject: { request: NoFields; reply: EjectReply };
  resume: { request: NoFields; reply: ResumeReply };
  /** Test hook, honoured only when the daemon runs with TRACKFS_TEST_HOOKS=1. */
  'inject-fault': { request: { io: FaultOp | 'none'; code: string }; reply: { injected: FaultOp | 'none' } };
}

export type ControlOp = keyof ControlOps;
export type RequestOf<K extends ControlOp> = { op: K } & ControlOps[K]['request'];
export type ReplyOf<K extends ControlOp> = ControlOps[K]['reply'];
/** Operations whose reply is followed by a stream of items. */
export type StreamOp = { [K in ControlOp]: ControlOps[K] extends { items: unknown } ? K : never }[ControlOp];
export type PlainOp = Exclude<ControlOp, StreamOp>;
export type ItemOf<K extends StreamOp> = ControlOps[K]['items'];

/** One line of a streamed reply after the first. */
export type StreamLine<T> = { items: T[] } | { end: true; count: number } | { ok: false; error: { code: string; message: string } };
export type ControlRequest = { [K in ControlOp]: RequestOf<K> }[ControlOp];

/** How long the CLI waits for each reply by default (an unmount is bounded by its --timeout). */
export const REPLY_TIMEOUT_MS: Record<ControlOp, number> = {
  status: 10_000,
  changes: 120_000,
  checkpoint: 30_000,
  unmount: 30_000,
  sync: 30_000,
  eject: 30_000,
  resume: 30_000,
  'inject-fault': 10_000,
};

export type ControlReply<T = unknown> =
  | { ok: true; result: T; stream?: true }
  | { ok: false; error: { code: string; message: string } };

export const MAX_MESSAGE_BYTES = 1 << 20;
/** No reply line is longer: large results are streamed in bounded lines. */
export const MAX_LINE_BYTES = 64 << 20;
