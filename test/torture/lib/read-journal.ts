/**
 * A journal's bytes read as recovery reads them at mount (Journal.load, then assessJournal), for
 * the kinds that judge recovered or damaged journals in process. No durability record: the kinds
 * judge the header and pages alone.
 */
import { Journal } from '../../../src/journal/journal.js';
import { assessJournal, type ImageState, type Verdict } from '../../../src/journal/recovery.js';
import { MemoryIo } from '../../unit/helpers/memory-io.js';
import { WORKLOAD_IMAGE_SIZE } from './journal-workload.js';

/** The boot a power cut is judged on: not this one. */
export const OTHER_BOOT = 'torture-another-boot';

const NO_RECORD = { record: { kind: 'none' as const }, fsIdentity: '', syncError: null };

export interface ReadJournal {
  journal: Journal;
  verdict: Verdict;
}

/** Loads `bytes` and judges them on `bootId` against `image` (null: not checked). Load errors are thrown. */
export async function readJournal(bytes: Buffer, image: ImageState | null, bootId: string): Promise<ReadJournal> {
  const { journal, report } = await Journal.load(new MemoryIo(bytes));
  const verdict = assessJournal(journal.headerSnapshot(), report, bootId, image, NO_RECORD);
  return { journal, verdict };
}

/** The workload's image as recovery sees it, with the mtime the workload left. */
export function workloadImage(imageMtimeNs: bigint): ImageState {
  return { mtimeNs: imageMtimeNs, size: WORKLOAD_IMAGE_SIZE, isBlockDevice: false };
}
