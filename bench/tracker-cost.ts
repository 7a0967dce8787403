/**
 * `node dist/bench/tracker-cost.js`: what tracking adds to a write whose clusters are already
 * recorded (a rewrite), measured in-process, where a few hundred nanoseconds are not lost in the
 * noise of a FUSE round trip (~100 µs of daemon CPU per 4 KiB request on this machine).
 *
 * Same calls as the volume makes: ChangeTracker.beforeWrite (default mark-ahead, and 0) against a
 * baseline of UntrackedWrites (tracking off), on a real journal file whose clusters are all
 * recorded, for random 4 KiB writes and for sequential 128 KiB writes. Prints one JSON object.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '../src/journal/journal.js';
import { FileJournalIo } from '../src/journal/journal-io.js';
import { ChangeTracker, UntrackedWrites, type WriteTracker } from '../src/tracker/tracker.js';

const IMAGE_SIZE = 1024 ** 3;
const CLUSTER = 64 * 1024;
const CALLS = 2_000_000;

/** Offsets decided before timing: the loop measures the tracker, not a random number generator. */
function offsets(kind: 'random-4k' | 'sequential-128k'): Float64Array {
  const out = new Float64Array(CALLS);
  let seed = 42;
  for (let i = 0; i < CALLS; i++) {
    if (kind === 'sequential-128k') {
      out[i] = (i * 131072) % IMAGE_SIZE;
    } else {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      out[i] = (seed % (IMAGE_SIZE / 4096)) * 4096;
    }
  }
  return out;
}

function nsPerCall(t: WriteTracker, offs: Float64Array, length: number): number {
  let waits = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < offs.length; i++) if (t.beforeWrite(offs[i]!, length) !== null) waits++;
  const ns = Number(process.hrtime.bigint() - t0) / offs.length;
  if (waits > 0 && !(t instanceof UntrackedWrites)) throw new Error(`${waits} rewrites had to wait: the clusters were not all recorded`);
  return ns;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'trackfs-bench-tracker-'));
  try {
    const io = await FileJournalIo.open(join(dir, 'j.trackfs'), { create: true });
    const journal = await Journal.create(io, { imageSize: IMAGE_SIZE, clusterSize: CLUSTER, imagePath: join(dir, 'image') });
    await journal.activate({ durability: 'strict', bootId: 'bench', pid: process.pid, imagePath: join(dir, 'image') });
    await journal.record(0, journal.clusterCount - 1);
    const result: Record<string, Record<string, number>> = {};
    for (const [kind, length] of [['random-4k', 4096], ['sequential-128k', 131072]] as const) {
      const offs = offsets(kind);
      const trackers: [string, WriteTracker][] = [
        ['off', new UntrackedWrites()],
        ['markAhead4M', new ChangeTracker(journal, 4 * 1024 * 1024)],
        ['exact', new ChangeTracker(journal, 0)],
      ];
      const best: Record<string, number> = {};
      // Best of 5 rounds, interleaved: JIT warm-up and a busy neighbour hit every variant alike.
      for (let round = 0; round < 5; round++) {
        for (const [name, t] of trackers) best[name] = Math.min(best[name] ?? Infinity, nsPerCall(t, offs, length));
      }
      result[kind] = Object.fromEntries(Object.entries(best).map(([k, v]) => [k, Number(v.toFixed(1))]));
      result[kind]!['addedNs'] = Number((Math.max(best['markAhead4M']!, best['exact']!) - best['off']!).toFixed(1));
    }
    await journal.abandon();
    process.stdout.write(`${JSON.stringify({ calls: CALLS, nsPerCall: result })}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`tracker-cost: ${(e as Error).message}\n`);
  process.exit(1);
});
