/**
 * Closing an epoch under a live mount with no write straddling it: new writes wait at the volume's
 * gate, writes in flight finish (their bits are then recorded in the closing epoch), the journal
 * closes the epoch durably, and the waiting writes go on into the next one. The daemon runs one
 * at a time (BackingOwner.serialize); the volume's pause also nests, so even overlapping callers
 * could not release each other's paused writes.
 */
import type { CheckpointResult } from '../journal/journal.js';

/** What closing an epoch needs of the volume. */
export interface WriteGate {
  pauseWrites(): void;
  resumeWrites(): void;
  /** Resolves when no write is in flight; rejects with ETIMEDOUT after `limitMs`. */
  whenWritesDrained(limitMs: number): Promise<void>;
}

export async function closeEpoch(
  volume: WriteGate,
  checkpoint: () => Promise<CheckpointResult>,
  drainLimitMs: number,
): Promise<CheckpointResult> {
  volume.pauseWrites();
  try {
    // Native writes included: a checkpoint whose writes in flight did not finish fails here,
    // before the journal is touched (a write in flight belongs to neither epoch).
    await volume.whenWritesDrained(drainLimitMs);
    return await checkpoint();
  } finally {
    volume.resumeWrites();
  }
}
