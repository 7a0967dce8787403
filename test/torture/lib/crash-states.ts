/**
 * The crash states a recorded trace can leave, cut point by cut point (CrashMonkey's replay to
 * every flush point, with its permutations of what was in flight):
 *
 *   process   the daemon died: the file as the page cache has it (every completed write);
 *   none      the power went and nothing since the last fdatasync reached the disk;
 *   subset    the power went and the disk had taken some of the writes since the last fdatasync,
 *             in any order: each 4 KiB block holds its durable content or any one of the versions
 *             written to it since (a block is never rolled back to an older version after a
 *             newer one reached the disk: the page cache writes back its latest);
 *   torn      the same, with one block torn: some of its 512-byte sectors from one version and
 *             the others from the version before (a write the disk did not make atomically).
 *
 * A cut is taken at every file event of the trace (each write, truncate and fdatasync) after the
 * notes that follow it: the requirement only grows between two file events, so the last note
 * before the next one is the strictest point for that content.
 */
import type { CrashModel, CutModel } from './crash-model.js';
import { applyFileEvent, isFileEvent, type FileEvent, type TraceEvent } from './recording-file.js';

const BLOCK = 4096;
const SECTOR = 512;

export interface CrashState {
  kind: 'process' | 'none' | 'subset' | 'torn';
  cut: CutModel;
  bytes: Buffer;
}

export interface CutPoint {
  /** Index of the last trace event before the cut. */
  index: number;
  states: CrashState[];
}

export interface StateOptions {
  /** Random subsets of the pending writes per cut. */
  subsets: number;
  /** Torn variants per cut. */
  torn: number;
  rng: () => number;
}

type Mutation = Extract<FileEvent, { t: 'write' | 'truncate' }>;

/**
 * Walks the trace, feeding its notes to `model`, and yields the states of each cut. The model is
 * up to date with the cut when its states are yielded (judge them before asking for the next).
 */
export function* crashStates(trace: readonly TraceEvent[], model: CrashModel, opts: StateOptions): Generator<CutPoint> {
  let current: Buffer = Buffer.alloc(0);
  let durable: Buffer = Buffer.alloc(0);
  /** Mutations not yet covered by a completed fdatasync, with their trace index. */
  let pending: { index: number; m: Mutation }[] = [];
  for (let i = 0; i < trace.length; i++) {
    const e = trace[i]!;
    if (!isFileEvent(e)) {
      model.apply(e);
    } else if (e.t === 'sync') {
      const covered = pending.filter((p) => p.index < e.covers);
      for (const p of covered) durable = applyFileEvent(durable, p.m);
      pending = pending.filter((p) => p.index >= e.covers);
    } else {
      current = applyFileEvent(current, e);
      pending.push({ index: i, m: e });
    }
    const next = trace[i + 1];
    if (next !== undefined && !isFileEvent(next)) continue;
    yield { index: i, states: statesAt(durable, current, pending.map((p) => p.m), opts) };
  }
}

function statesAt(durable: Buffer, current: Buffer, pending: Mutation[], opts: StateOptions): CrashState[] {
  const states: CrashState[] = [{ kind: 'process', cut: 'process', bytes: Buffer.from(current) }];
  // After a reboot: everything landed is the process image again, judged by the reboot rules.
  states.push({ kind: 'subset', cut: 'power', bytes: Buffer.from(current) });
  if (pending.length === 0) return states;
  states.push({ kind: 'none', cut: 'power', bytes: Buffer.from(durable) });
  const versions = blockVersions(durable, pending);
  const blocks = [...versions.keys()];
  const truncates = pending.filter((m): m is Extract<Mutation, { t: 'truncate' }> => m.t === 'truncate');
  for (let s = 0; s < opts.subsets + opts.torn; s++) {
    let out: Buffer = Buffer.from(durable);
    for (const t of truncates) if (opts.rng() < 0.5) out = applyFileEvent(out, t);
    for (const b of blocks) {
      const vs = versions.get(b)!;
      const k = Math.floor(opts.rng() * (vs.length + 1));
      if (k > 0) out = applyFileEvent(out, { t: 'write', position: b * BLOCK, data: vs[k - 1]! });
    }
    if (s >= opts.subsets && blocks.length > 0) {
      const b = blocks[Math.floor(opts.rng() * blocks.length)]!;
      const vs = versions.get(b)!;
      const k = 1 + Math.floor(opts.rng() * vs.length);
      const older = k === 1 ? blockOf(durable, b) : vs[k - 2]!;
      out = applyFileEvent(out, { t: 'write', position: b * BLOCK, data: tear(older, vs[k - 1]!, opts.rng) });
      states.push({ kind: 'torn', cut: 'power', bytes: out });
    } else {
      states.push({ kind: 'subset', cut: 'power', bytes: out });
    }
  }
  return states;
}

function blockOf(file: Buffer, b: number): Buffer {
  const out = Buffer.alloc(BLOCK);
  if (b * BLOCK < file.length) file.copy(out, 0, b * BLOCK, Math.min(file.length, (b + 1) * BLOCK));
  return out;
}

/** Per 4 KiB block touched by the pending writes: its content after each of them, in order. */
function blockVersions(durable: Buffer, pending: Mutation[]): Map<number, Buffer[]> {
  const versions = new Map<number, Buffer[]>();
  let evolving: Buffer = Buffer.from(durable);
  for (const m of pending) {
    evolving = applyFileEvent(evolving, m);
    if (m.t !== 'write') continue;
    const firstBlock = Math.floor(m.position / BLOCK);
    const lastBlock = Math.floor((m.position + m.data.length - 1) / BLOCK);
    for (let b = firstBlock; b <= lastBlock; b++) {
      const list = versions.get(b) ?? [];
      list.push(blockOf(evolving, b));
      versions.set(b, list);
    }
  }
  return versions;
}

/** A block with some sectors of `older` and the others of `newer` (at least one of each where they differ). */
function tear(older: Buffer, newer: Buffer, rng: () => number): Buffer {
  const out = Buffer.from(newer);
  const sectors = BLOCK / SECTOR;
  const fromOlder = Array.from({ length: sectors }, () => rng() < 0.5);
  if (fromOlder.every(Boolean)) fromOlder[Math.floor(rng() * sectors)] = false;
  if (fromOlder.every((x) => !x)) fromOlder[Math.floor(rng() * sectors)] = true;
  fromOlder.forEach((old, s) => { if (old) older.copy(out, s * SECTOR, s * SECTOR, (s + 1) * SECTOR); });
  return out;
}
