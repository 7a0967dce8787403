/**
 * A running loop writer (child-writer.js loop) as the dismount and removal tests use it: it
 * records every acknowledged offset and when its first failure came back.
 */
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { CHILD_WRITER, waitFor, type Harness } from './harness.js';

export interface LoopWriter {
  child: ChildProcess;
  acknowledged: number[];
  /** errno code of the first failed write, and when it was seen (ms since the epoch). */
  failure: { code: string; at: number } | null;
  exited: Promise<void>;
  stderr(): string;
}

export function startLoopWriter(h: Harness, path: string, clusterSize: number, clusterCount: number, seed: number, block = 4096): LoopWriter {
  const child = h.spawnChild([CHILD_WRITER, 'loop', path, String(clusterSize), String(clusterCount), String(seed), String(block)]);
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const w: LoopWriter = {
    child,
    acknowledged: [],
    failure: null,
    exited: new Promise<void>((resolve) => child.once('exit', () => resolve())),
    stderr: () => err,
  };
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const ok = /^(\d+) (\d+)$/.exec(line);
    if (ok) {
      w.acknowledged.push(Number(ok[2]));
      return;
    }
    const bad = /^error \d+ (\S+)/.exec(line);
    if (bad && !w.failure) w.failure = { code: bad[1]!, at: Date.now() };
  });
  return w;
}

export async function waitForWrites(w: LoopWriter, n: number, timeoutMs = 30_000): Promise<void> {
  await waitFor(`${n} acknowledged writes`, () => {
    if (w.failure) throw new Error(`writer failed early with ${w.failure.code} after ${w.acknowledged.length} writes: ${w.stderr()}`);
    return w.acknowledged.length >= n;
  }, timeoutMs, 10);
}
