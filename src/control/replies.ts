/** Journal results as the control protocol shows them, for the daemon and offline readers alike. */
import { formatCheckpointId } from '../journal/checkpoint-id.js';
import type { CheckpointResult } from '../journal/journal.js';
import type { CheckpointReply } from './protocol.js';

export function checkpointReply(r: CheckpointResult): CheckpointReply {
  return {
    id: formatCheckpointId(r.generation, r.checkpoint),
    generation: r.generation,
    checkpoint: r.checkpoint,
    at: new Date(r.at).toISOString(),
    rebased: r.rebased,
    ...(r.rebasedFrom ? { rebasedFrom: r.rebasedFrom } : {}),
  };
}
