/**
 * One fuzz case, in process: a mutant of a source journal through the decoder, Journal.load,
 * assessJournal and the change lists a consumer asks for (since the generation began, and since
 * each checkpoint the source had). It must not throw anything but a JournalFormatError (a refusal
 * the CLI words as "corrupt" or "not a trackfs journal"); and a damaged copy judged trusted must
 * list, since each checkpoint it shares with the source, at least what the source listed.
 */
import { JournalFormatError } from '../../../src/journal/format.js';
import { changesSince } from '../../../src/journal/changes.js';
import { formatCheckpointId } from '../../../src/journal/checkpoint-id.js';
import { basesToCheck } from './crash-model.js';
import type { FuzzSource } from './fuzz-sources.js';
import { readJournal } from './read-journal.js';
import type { Mutant } from './mutations.js';

export type FuzzOutcome = 'refused' | 'trusted' | 'untrusted';

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/**
 * A version 1 or 2 journal cannot tell a zeroed or cut page from one never written: the format
 * says so ("What the counts cannot see"); such damage is held to robustness only, here and
 * through the CLI. A version 3 journal is held to it in both modes.
 */
export function zeroingUndetectable(src: FuzzSource, m: Mutant): boolean {
  return src.baseline.version < 3 && m.zeroes === true;
}

export interface FuzzCaseResult {
  outcome: FuzzOutcome;
  problems: string[];
}

export async function checkMutant(src: FuzzSource, m: Mutant, which: 'all' | 'some'): Promise<FuzzCaseResult> {
  let read;
  try {
    read = await readJournal(m.bytes, src.image, src.bootId);
  } catch (e) {
    if (e instanceof JournalFormatError) return { outcome: 'refused', problems: [] };
    return { outcome: 'refused', problems: [`load or recovery threw ${describe(e)}`] };
  }
  const { journal, verdict } = read;
  const problems: string[] = [];
  const h = journal.headerSnapshot();
  try {
    // What a consumer reads: the whole list since the start, since the source's newest checkpoint
    // (another generation, or one this header does not have: the whole image), and since one the
    // journal has not taken yet.
    const newest = formatCheckpointId(src.baseline.generation, src.baseline.epoch - 1);
    for (const id of [null, newest, formatCheckpointId(h.generation, h.epoch)]) {
      const list = await changesSince(journal, id, verdict);
      let covered = 0;
      for (const batch of list.batches()) for (const e of batch) covered += e.length;
      if (covered !== list.summary.changedBytes) {
        problems.push(`changes since ${id ?? 'the start'}: extents cover ${covered} bytes, summary says ${list.summary.changedBytes}`);
      }
    }
  } catch (e) {
    problems.push(`listing changes threw ${describe(e)}`);
  }
  if (m.cls === 'damage' && !zeroingUndetectable(src, m) && verdict.trusted && h.generation === src.baseline.generation) {
    if (!src.baseline.trusted) {
      const how = `${h.state}, ${verdict.events.join(' | ')}`;
      problems.push(`trusted after damage, but the intact journal is untrusted (it lists the whole image) [${how}]`);
    } else {
      for (const base of basesToCheck(Math.min(h.epoch, src.baseline.epoch), which)) {
        const listed = await journal.changedSince(base);
        const want = src.baseline.since[base]!;
        for (const run of want.runs()) {
          let missing = -1;
          for (let c = run.start; c < run.start + run.count; c++) if (!listed.test(c)) { missing = c; break; }
          if (missing >= 0) {
            problems.push(`trusted after damage with fewer changes since ${base}: cluster ${missing} is listed intact, `
              + `not damaged [${h.state}]`);
            break;
          }
        }
      }
    }
  }
  return { outcome: verdict.trusted ? 'trusted' : 'untrusted', problems };
}
