/**
 * How fast `trackfs map` draws a 16 TiB sparse journal with a million changed clusters (issue 13:
 * under a second). Not part of `npm run bench`: `node dist/bench/map-scale.js [--runs N]`.
 *
 * The journal is made offline with the journal's own code (a million distinct random clusters of
 * 64 KiB spread over the whole image, one commit, closed clean with the image's mtime, so the map
 * reads it as trusted), then `trackfs map JOURNAL` runs as a user runs it, a new process each time:
 * the figure is the wall time of the whole command, Node.js start-up included. `changes JOURNAL
 * --json` is timed alongside, for scale.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileJournalIo } from '../src/journal/journal-io.js';
import { Journal } from '../src/journal/journal.js';
import { cleanUpOnSignals, onCleanup } from './cleanup.js';
import { trackfsBin } from './paths.js';
import { createHugeSparseFile } from './scale.js';

const CLUSTER = 64 * 1024;
const CHANGED = 1_000_000;

/** A deterministic generator (xorshift32): the same clusters every run. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

async function makeJournal(image: string, journalPath: string): Promise<{ size: number; changed: number }> {
  const size = createHugeSparseFile(image);
  const io = await FileJournalIo.open(journalPath, { create: true });
  const journal = await Journal.create(io, { imageSize: size, clusterSize: CLUSTER, imagePath: image });
  const clusters = Math.ceil(size / CLUSTER);
  const rand = prng(13);
  const chosen = new Set<number>();
  while (chosen.size < CHANGED) chosen.add(Math.floor(rand() * clusters));
  // record() answers null when the bit is already durable, else the commit to wait for.
  const commits = [...chosen].map((c) => journal.record(c, c)).filter((p): p is Promise<void> => p !== null);
  await Promise.all(commits);
  await journal.close({ imageMtimeNs: statSync(image, { bigint: true }).mtimeNs });
  return { size, changed: chosen.size };
}

/**
 * Wall time of one command, and its CPU time (user + system, from GNU time when installed): on a
 * shared machine the wall time grows with the load, the CPU time much less.
 */
function timeRun(args: string[]): { ms: number; cpuMs: number | null; stdout: string } {
  const gnuTime = existsSync('/usr/bin/time');
  const argv = [process.execPath, trackfsBin(), ...args];
  const t0 = process.hrtime.bigint();
  const r = gnuTime
    ? spawnSync('/usr/bin/time', ['-f', 'cpu %U %S', ...argv], { encoding: 'utf8', maxBuffer: 1 << 30 })
    : spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', maxBuffer: 1 << 30 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`trackfs ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  const cpu = /^cpu ([\d.]+) ([\d.]+)$/m.exec(r.stderr);
  return { ms, cpuMs: cpu ? 1000 * (Number(cpu[1]) + Number(cpu[2])) : null, stdout: r.stdout };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const runsAt = process.argv.indexOf('--runs');
  const runs = runsAt > 0 ? Number(process.argv[runsAt + 1]) : 5;
  const dir = mkdtempSync(join(tmpdir(), 'trackfs-bench-map-'));
  const undo = onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  try {
    const image = join(dir, 'huge.raw');
    const journal = `${image}.trackfs`;
    const t0 = process.hrtime.bigint();
    const { size, changed } = await makeJournal(image, journal);
    const made = (Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1);
    console.log(`journal: ${(size / 1024 ** 4).toFixed(2)} TiB image, ${changed} changed clusters of 64 KiB, made in ${made} s`);
    const map: number[] = [];
    const mapCpu: number[] = [];
    const changes: number[] = [];
    let last = '';
    for (let i = 0; i < runs; i++) {
      const m = timeRun(['map', journal]);
      map.push(m.ms);
      if (m.cpuMs !== null) mapCpu.push(m.cpuMs);
      last = m.stdout;
      changes.push(timeRun(['changes', journal, '--json']).ms);
    }
    const totals = last.trimEnd().split('\n').at(-1);
    const spread = `min ${Math.min(...map).toFixed(0)}, max ${Math.max(...map).toFixed(0)}`;
    console.log(`trackfs map JOURNAL: median ${median(map).toFixed(0)} ms over ${runs} runs (${spread}); ${totals}`);
    if (mapCpu.length) console.log(`trackfs map JOURNAL, CPU time (user + system): median ${median(mapCpu).toFixed(0)} ms`);
    console.log(`load average during the runs: ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} CPUs`);
    console.log(`trackfs changes JOURNAL --json (for scale): median ${median(changes).toFixed(0)} ms`);
    const node = timeRun(['--version']).ms;
    console.log(`trackfs --version (Node.js start-up and the CLI's loading): ${node.toFixed(0)} ms`);
  } finally {
    undo();
    rmSync(dir, { recursive: true, force: true });
  }
}

cleanUpOnSignals();
await main();
