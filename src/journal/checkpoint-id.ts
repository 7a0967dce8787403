/**
 * Checkpoint ids as users see them: GENERATION:NUMBER, with the first 12 hex digits of the
 * generation. The generation is part of the id so that a number from an older history (before a
 * reset or a re-base) can never be taken for the same number of the current one.
 */
import { ErrnoError } from '../util/errno.js';

export const ID_GENERATION_DIGITS = 12;

export interface CheckpointRef {
  /** A prefix of the generation (at least 8 hex digits). */
  generation: string;
  number: number;
}

export function formatCheckpointId(generation: string, number: number): string {
  return `${generation.slice(0, ID_GENERATION_DIGITS)}:${number}`;
}

export function parseCheckpointId(text: string): CheckpointRef {
  const m = /^([0-9a-f]{8,32}):(\d{1,10})$/.exec(text.trim().toLowerCase());
  const number = m ? Number(m[2]) : NaN;
  if (!m || !Number.isSafeInteger(number)) {
    throw new ErrnoError('EINVAL', `'${text}' is not a checkpoint id (GENERATION:NUMBER, as printed by trackfs checkpoint, e.g. 3f2a9c1e7d0b:4)`);
  }
  return { generation: m[1]!, number };
}

/**
 * Which epoch a consumer's checkpoint refers to in a journal at `generation` and `epoch`: the base
 * number, or why it cannot be used (then the consumer must copy everything).
 */
export function resolveCheckpoint(ref: CheckpointRef, generation: string, epoch: number): { base: number } | { unavailable: string } {
  const id = `${ref.generation}:${ref.number}`;
  if (!generation.startsWith(ref.generation)) {
    return { unavailable: `checkpoint ${id} is not of this journal's history (generation ${generation.slice(0, ID_GENERATION_DIGITS)}): another journal's, or from before a reset or re-base` };
  }
  if (ref.number >= epoch) {
    return { unavailable: `checkpoint ${id} does not exist: the latest checkpoint of generation ${generation.slice(0, ID_GENERATION_DIGITS)} is ${epoch - 1}` };
  }
  return { base: ref.number };
}
