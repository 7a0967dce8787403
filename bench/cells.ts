/** The raw measurements of a run: for each (job, target) cell, one entry per repetition. */

export interface Cell { samples: number[]; cpuUsPerOp: number[]; clat50us: number[] }

export class Cells {
  private readonly byKey = new Map<string, Cell>();

  private static key(job: string, target: string): string {
    return `${job}\u0000${target}`;
  }

  get(job: string, target: string): Cell | undefined {
    return this.byKey.get(Cells.key(job, target));
  }

  /** The cell, made empty if it is new. */
  at(job: string, target: string): Cell {
    const k = Cells.key(job, target);
    let c = this.byKey.get(k);
    if (!c) this.byKey.set(k, (c = { samples: [], cpuUsPerOp: [], clat50us: [] }));
    return c;
  }
}

/** A run's measurements: the cells, and each server's RSS (MiB) after its main session, per repetition. */
export interface Measurements { cells: Cells; rss: Map<string, number[]> }
