/**
 * What a journal recovered at a point of a workload's trace must list: the model replays the
 * workload's notes (recording-file.ts) and judges a recovered journal against them.
 *
 * The promise, as the write-ahead rule states it: every cluster of a data write that was *issued
 * to the image* before the cut is listed (an acknowledged write was issued first, so it is listed
 * too). A write is required in the generation it was issued in, and in the changes since every
 * checkpoint of that generation completed before it was issued. A trusted journal must list them
 * all, since every checkpoint it has; an untrusted one lists the whole image, and is allowed only
 * for a cause the workload gave (it marked the journal untrusted) or, after a power cut in ordered
 * mode, a journal left active (the boot-id rule: bits not yet synced may be gone).
 */
import type { Journal } from '../../../src/journal/journal.js';
import type { Verdict } from '../../../src/journal/recovery.js';
import type { Note } from './recording-file.js';

/**
 * The checkpoints whose changes are checked: all of them, or (to bound the work of a short run)
 * the start of the generation, the newest checkpoint and one in between.
 */
export function basesToCheck(epoch: number, which: 'all' | 'some'): number[] {
  if (which === 'all' || epoch <= 3) return Array.from({ length: epoch }, (_, b) => b);
  return [0, Math.floor(epoch / 2), epoch - 1];
}

interface IssuedWrite {
  first: number;
  last: number;
  /** Checkpoints completed in its generation when it was issued: it is in changes since 0 … this. */
  after: number;
}

interface Generation {
  writes: IssuedWrite[];
  checkpoints: number;
  /** The workload marked it untrusted (markUntrusted was called). */
  markedUntrusted: boolean;
}

/** How the cut is modelled: the daemon died (page cache intact), or the power went (a reboot). */
export type CutModel = 'process' | 'power';

export class CrashModel {
  private readonly generations = new Map<string, Generation>();
  private readonly issued = new Map<number, { first: number; last: number }>();
  private current = '';
  /** A reset or a re-base is under way: a generation the notes have not named yet may be on disk. */
  private generationChanging = false;
  created = false;
  imageMtimeNs: bigint;

  constructor(firstMtimeNs: bigint) {
    this.imageMtimeNs = firstMtimeNs;
  }

  apply(n: Note): void {
    switch (n.t) {
      case 'created':
        this.created = true;
        this.startGeneration(n.generation);
        break;
      case 'issue':
        this.issued.set(n.w, { first: n.first, last: n.last });
        break;
      case 'image': {
        const w = this.issued.get(n.w)!;
        const g = this.gen();
        g.writes.push({ ...w, after: g.checkpoints });
        this.imageMtimeNs = n.mtimeNs;
        break;
      }
      case 'checkpoint-start':
        if (this.gen().markedUntrusted) this.generationChanging = true;
        break;
      case 'checkpoint-done':
        if (n.rebased) this.startGeneration(n.generation);
        else this.gen().checkpoints = n.closed;
        this.generationChanging = false;
        break;
      case 'reset-start':
        this.generationChanging = true;
        break;
      case 'generation':
        this.startGeneration(n.generation);
        this.generationChanging = false;
        break;
      case 'reopen':
        // A reset or re-base whose caller was told it failed may still have reached the file
        // (the header was written, its fdatasync failed): a new daemon finds that generation, and
        // the writes from here on belong to it. (Its checkpoint 0 was never handed out.)
        if (this.generationChanging && n.generation !== this.current) {
          this.startGeneration(n.generation);
          this.generationChanging = false;
        }
        break;
      case 'untrusted-start':
        this.gen().markedUntrusted = true;
        break;
      default:
        break;
    }
  }

  private gen(): Generation {
    return this.generations.get(this.current)!;
  }

  private startGeneration(g: string): void {
    this.current = g;
    if (!this.generations.has(g)) this.generations.set(g, { writes: [], checkpoints: 0, markedUntrusted: false });
  }

  /**
   * Judges a journal recovered at this point of the trace. Returns the problems found (none: it
   * keeps the promise).
   */
  async judge(journal: Journal, verdict: Verdict, cut: CutModel, bases: 'all' | 'some' = 'all'): Promise<string[]> {
    // Until create returned, nothing depended on the file: whatever it holds is fine.
    if (!this.created) return [];
    const h = journal.headerSnapshot();
    const g = this.generations.get(h.generation);
    const problems: string[] = [];
    if (!g && !this.generationChanging) problems.push(`recovered generation ${h.generation} was never made by the workload`);
    if (!verdict.trusted) {
      const rebootRule = cut === 'power' && h.durability === 'ordered' && h.state === 'active';
      if (!rebootRule && !g?.markedUntrusted) {
        problems.push(`untrusted without a cause the workload gave (${cut} cut, ${h.state}, ${h.durability}): ${verdict.reason}`);
      }
      return problems;
    }
    if (cut === 'power' && h.durability === 'ordered' && h.state === 'active') {
      problems.push('trusted after a power cut while active in ordered mode (the boot-id rule was not applied)');
    }
    if (!g) return problems;
    for (const base of basesToCheck(h.epoch, bases)) {
      const listed = await journal.changedSince(base);
      for (const w of g.writes) {
        if (w.after < base) continue;
        for (let c = w.first; c <= w.last; c++) {
          if (!listed.test(c)) {
            problems.push(`cluster ${c}, issued to the image after checkpoint ${base}, is missing from changes since ${base} `
              + `(trusted, ${h.state}, ${h.durability}, ${cut} cut)`);
            break;
          }
        }
        if (problems.length > 3) return problems;
      }
    }
    return problems;
  }
}
