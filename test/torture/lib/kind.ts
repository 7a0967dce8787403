/**
 * What every torture kind is: a module with a name and a run() that checks as many cases as its
 * budget allows and reports them, with each failure as one line that says how to reproduce it
 * (the seed, the case). A kind never throws for a failed case: it counts it and goes on, so one
 * run reports everything it found.
 */

export interface KindOptions {
  /** Every random choice derives from this (printed, so a failure can be replayed). */
  seed: number;
  /** The short run inside `npm test` (a few minutes for all kinds), or the long one. */
  short: boolean;
  /** Soak: how long to run. */
  minutes: number;
  /** Replay only these case numbers (as FAIL lines name them), where a kind numbers its cases (kill). */
  cases?: readonly number[];
  /** A progress line (the runner prints it; node:test turns it into a diagnostic). */
  log(line: string): void;
}

export interface KindResult {
  kind: string;
  /** Cases checked (what one case is, `unit` says). */
  cases: number;
  unit: string;
  /** One line per failed case (at most MAX_KEPT kept; `failed` counts them all). */
  failures: string[];
  failed: number;
  /** Figures worth reporting beyond the count (one line each). */
  figures: string[];
  seconds: number;
  /** Set when the kind could not run here (no FUSE, not root): never counted as passed. */
  skipped?: string;
}

export interface Kind {
  name: string;
  /** One line: what it checks. */
  what: string;
  run(opts: KindOptions): Promise<KindResult>;
}

const MAX_KEPT = 40;

/** Collects the outcome of a kind's cases. */
export class Tally {
  cases = 0;
  failed = 0;
  readonly failures: string[] = [];
  readonly figures: string[] = [];
  private readonly started = Date.now();

  constructor(readonly kind: string, readonly unit: string) {}

  /** One failed case; `problems` empty means it passed. */
  check(problems: readonly string[], where: string): void {
    this.cases++;
    if (problems.length === 0) return;
    this.failed++;
    if (this.failures.length < MAX_KEPT) this.failures.push(`${where}: ${problems.slice(0, 3).join('; ')}`);
  }

  fail(where: string, problem: string): void {
    this.check([problem], where);
  }

  /** Cases checked elsewhere (a worker), counted here. */
  count(n: number): void {
    this.cases += n;
  }

  /** A failure of a case already counted. */
  failure(line: string): void {
    this.failed++;
    if (this.failures.length < MAX_KEPT) this.failures.push(line);
  }

  result(skipped?: string): KindResult {
    return {
      kind: this.kind,
      cases: this.cases,
      unit: this.unit,
      failures: this.failures,
      failed: this.failed,
      figures: this.figures,
      seconds: Math.round((Date.now() - this.started) / 100) / 10,
      ...(skipped ? { skipped } : {}),
    };
  }
}

/** A seed for one case of a kind, derived from the run's seed (stable across runs). */
export function caseSeed(seed: number, ...parts: (string | number)[]): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const p of parts.join('/')) h = Math.imul(h ^ p.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}

/** A kind's outcome and figures in one line (the runner's summary, the short run's diagnostic). */
export function oneLine(r: KindResult): string {
  const outcome = r.skipped ? `skipped (${r.skipped})` : `${r.failed} failed`;
  return [`${r.kind}: ${r.cases} ${r.unit}, ${outcome}, ${r.seconds} s`, ...r.figures].join('; ');
}

export { messageOf } from '../../../src/util/errno.js';
