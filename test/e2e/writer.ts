/**
 * A running child writer (child-writer.js) as the dismount, removal, crash and torture tests use
 * it: every acknowledged offset in the order reported, the errors it printed and the first one's
 * time, and anything in its reports that should not be there (out of order, an unknown line).
 */
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { CHILD_WRITER, waitFor, type Harness } from './harness.js';

export interface LoopWriter {
  child: ChildProcess;
  /** child-writer's arguments, for messages. */
  name: string;
  acknowledged: number[];
  /** errno code of the first failed write, and when it was seen (ms since the epoch). */
  failure: { code: string; at: number } | null;
  /** Every "error ..." line it printed. */
  errors: string[];
  /** A report out of order, or a line it never prints: a fault of the writer's or of trackfs's. */
  problem: string | null;
  exited: Promise<void>;
  hasExited(): boolean;
  stderr(): string;
}

/** Starts `child-writer.js ARGS` as a child of the harness and follows its reports. */
export function startWriter(h: Harness, args: string[]): LoopWriter {
  const child = h.spawnChild([CHILD_WRITER, ...args]);
  let err = '';
  let ended = false;
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const w: LoopWriter = {
    child,
    name: args.join(' '),
    acknowledged: [],
    failure: null,
    errors: [],
    problem: null,
    exited: new Promise<void>((resolve) => child.once('exit', () => { ended = true; resolve(); })),
    hasExited: () => ended,
    stderr: () => err,
  };
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const ok = /^(\d+) (\d+)$/.exec(line);
    if (ok) {
      if (Number(ok[1]) !== w.acknowledged.length) w.problem ??= `out of order: ${line}`;
      w.acknowledged.push(Number(ok[2]));
      return;
    }
    const bad = /^error \d+ (\S+)/.exec(line);
    if (bad) {
      w.errors.push(line);
      w.failure ??= { code: bad[1]!, at: Date.now() };
    } else if (!/^done \d+/.test(line)) {
      w.problem ??= `unexpected output: ${line}`;
    }
  });
  return w;
}

/** A loop writer (child-writer.js loop): BLOCK bytes at cluster-aligned offsets, forever. */
export function startLoopWriter(
  h: Harness,
  path: string,
  clusterSize: number,
  clusterCount: number,
  seed: number,
  block = 4096,
): LoopWriter {
  return startWriter(h, ['loop', path, String(clusterSize), String(clusterCount), String(seed), String(block)]);
}

export async function waitForWrites(w: LoopWriter, n: number, timeoutMs = 30_000): Promise<void> {
  await waitFor(`${n} acknowledged writes`, () => {
    if (w.failure) throw new Error(`writer failed early with ${w.failure.code} after ${w.acknowledged.length} writes: ${w.stderr()}`);
    return w.acknowledged.length >= n;
  }, timeoutMs, 10);
}
