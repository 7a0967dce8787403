/**
 * Kind 4, fuzzing. Damaged, crafted and random journal files (lib/mutations.ts) made from real
 * journals (lib/fuzz-sources.ts) go
 *   - in process, through the decoder, Journal.load, assessJournal and the change lists (in a
 *     worker thread, so a case that spins is caught and named: no hang);
 *   - through the CLI as a user types it: `status`, `changes`, `changes --since`, `checkpoint`
 *     (on a copy), each bounded in time;
 *   - through `mount` (and `changes`, `unmount`, `status` after it).
 * Nothing may crash, hang, print a stack trace or exit with an undocumented code; a damaged copy
 * judged trusted must list at least what the intact source listed.
 */
import { copyFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeHeader, encodeHeader, HEADER_SLOT_SIZE } from '../../../src/journal/format.js';
import { formatCheckpointId } from '../../../src/journal/checkpoint-id.js';
import { currentBootId } from '../../../src/util/boot-id.js';
import { alive, clustersOfExtents, fuseUnavailable, type ChangesJson, type Harness, type RunResult } from '../../e2e/harness.js';
import { mulberry32 } from '../../e2e/prng.js';
import { endProblems, parseJson } from '../lib/cli-checks.js';
import { zeroingUndetectable } from '../lib/fuzz-check.js';
import { makeSources, type FuzzSource } from '../lib/fuzz-sources.js';
import { casesInWorkers, FUZZ_WORKER, type Totals } from '../lib/fuzz-workers.js';
import { caseSeed, messageOf, Tally, type Kind, type KindOptions, type KindResult } from '../lib/kind.js';
import { mutate, type Mutant } from '../lib/mutations.js';
import { withHarness } from '../lib/scope.js';
import { WORKLOAD_CLUSTER_SIZE, WORKLOAD_IMAGE_SIZE } from '../lib/journal-workload.js';

const SOURCES = 12;

interface Budget { inProcess: number; cliFiles: number; mounts: number }
const SHORT: Budget = { inProcess: 2000, cliFiles: 12, mounts: 4 };
const LONG: Budget = { inProcess: 100_000, cliFiles: 700, mounts: 300 };

/* ------------------------------------------------------------------ in process ---- */

async function inProcess(opts: KindOptions, tally: Tally, total: number, bootId: string): Promise<void> {
  const started = Date.now();
  const totals: Totals = { outcomes: {}, classes: {} };
  // The cases are split between two workers (two cores).
  const half = Math.ceil(total / 2);
  const data = { seed: opts.seed, sources: SOURCES, bootId, bases: 'some' as const };
  await Promise.all([
    casesInWorkers(FUZZ_WORKER, data, [0, half], tally, totals),
    casesInWorkers(FUZZ_WORKER, data, [half, total], tally, totals),
  ]);
  tally.count(total);
  const o = totals.outcomes;
  const c = totals.classes;
  tally.figures.push(`in process: ${total} files (${c['damage'] ?? 0} damaged, ${c['double-damage'] ?? 0} damaged twice, `
    + `${c['crafted'] ?? 0} crafted header fields, ${c['random'] ?? 0} random) from ${SOURCES} workload journals and the 3 golden files: `
    + `${o['refused'] ?? 0} refused, ${o['untrusted'] ?? 0} untrusted, ${o['trusted'] ?? 0} trusted (${Math.round((Date.now() - started) / 1000)} s)`);
  opts.log(`fuzz: ${total} files in process`);
}

/* ------------------------------------------------------------------ the CLI ---- */

/** A source as the CLI sees it: its header names the real image (and its mtime, for a clean one). */
function reheaded(bytes: Buffer, imagePath: string, mtimeNs: bigint): Buffer {
  const out = Buffer.from(bytes);
  for (const slot of [0, 1]) {
    const at = slot * HEADER_SLOT_SIZE;
    try {
      const h = decodeHeader(out.subarray(at, at + HEADER_SLOT_SIZE));
      const imageMtimeNs = h.state !== 'active' && h.imageMtimeNs !== 0n ? mtimeNs : h.imageMtimeNs;
      encodeHeader({ ...h, imagePath, imageMtimeNs }).copy(out, at);
    } catch {
      // A slot that does not decode stays as it is.
    }
  }
  return out;
}

interface CliSource {
  src: FuzzSource;
  bytes: Buffer;
  /** What `changes --json` says of the intact file. */
  listing: ChangesJson;
}

async function cliSources(h: Harness, sources: FuzzSource[]): Promise<CliSource[]> {
  await h.createImage(WORKLOAD_IMAGE_SIZE);
  const mtimeNs = (await stat(h.image, { bigint: true })).mtimeNs;
  const out: CliSource[] = [];
  for (const [i, src] of sources.entries()) {
    const bytes = reheaded(src.bytes, h.image, mtimeNs);
    const path = join(h.dir, `source-${i}.trackfs`);
    await writeFile(path, bytes, { mode: 0o600 });
    const r = await h.trackfs(['changes', path, '--json']);
    if (r.code !== 0) throw new Error(`changes of intact source ${src.name} exited ${r.code}: ${r.stderr.trim()}`);
    out.push({ src, bytes, listing: JSON.parse(r.stdout) as ChangesJson });
  }
  return out;
}

/** A damaged copy's listing held to its source's: never trusted with fewer changes. */
function listingProblems(src: FuzzSource, m: Mutant, got: ChangesJson, source: ChangesJson, clusterSize: number): string[] {
  if (m.cls !== 'damage' || zeroingUndetectable(src, m) || !got.trusted || got.generation !== source.generation) return [];
  if (!source.trusted) return ['trusted after damage, but the intact journal is untrusted (it lists the whole image)'];
  const listed = clustersOfExtents(got.extents, clusterSize);
  for (const c of clustersOfExtents(source.extents, clusterSize)) {
    if (!listed.has(c)) return [`trusted after damage with fewer changes: cluster ${c} is listed intact, not damaged`];
  }
  return [];
}

async function cliCase(h: Harness, s: CliSource, m: Mutant, n: number): Promise<string[]> {
  const path = join(h.dir, `case-${n}.trackfs`);
  const copy = join(h.dir, `case-${n}-checkpoint.trackfs`);
  await writeFile(path, m.bytes, { mode: 0o600 });
  await copyFile(path, copy);
  const problems: string[] = [];
  const cmd = (args: string[]) => h.trackfs(args, { timeoutMs: 30_000 });
  const status = await cmd(['status', path, '--json']);
  problems.push(...endProblems(status, [0, 1], 'status'));
  if (status.code === 0) parseJson(status, 'status', problems);
  const changes = await cmd(['changes', path, '--json']);
  problems.push(...endProblems(changes, [0, 1], 'changes'));
  if (changes.code === 0) {
    const got = parseJson<ChangesJson>(changes, 'changes', problems);
    if (got) problems.push(...listingProblems(s.src, m, got, s.listing, s.listing.clusterSize || WORKLOAD_CLUSTER_SIZE));
  }
  const since = formatCheckpointId(s.listing.generation, Math.max(0, Number(s.listing.latestCheckpoint.split(':')[1] ?? 0)));
  const changesSince = await cmd(['changes', path, '--since', since, '--json']);
  problems.push(...endProblems(changesSince, [0, 1, 3], `changes --since ${since}`));
  const checkpoint = await cmd(['checkpoint', copy]);
  problems.push(...endProblems(checkpoint, [0, 1], 'checkpoint'));
  if (checkpoint.code === 0) {
    // A checkpoint never leaves a journal the next command cannot read.
    const after = await cmd(['status', copy, '--json']);
    if (after.code !== 0) problems.push(`status after a successful checkpoint exited ${after.code}: ${after.stderr.trim()}`);
  }
  return problems;
}

async function viaCli(opts: KindOptions, tally: Tally, files: number, h: Harness, cs: CliSource[]): Promise<void> {
  let next = 0;
  let runs = 0;
  const worker = async () => {
    while (next < files) {
      const n = next++;
      const rng = mulberry32(caseSeed(opts.seed, 'fuzz-cli', n));
      const s = cs[Math.floor(rng() * cs.length)]!;
      const m = mutate(s.bytes, rng);
      const problems = await cliCase(h, s, m, n).catch((e: unknown) => [`the case could not run: ${messageOf(e)}`]);
      runs += 4;
      tally.check(problems, `fuzz --seed ${opts.seed}: CLI case ${n} (${s.src.name}; ${m.cls}: ${m.what})`);
      if (n % 100 === 99) opts.log(`fuzz: ${n + 1} files through the CLI`);
    }
  };
  // Two at a time: each is a node process start; the machine has two cores.
  await Promise.all([worker(), worker()]);
  tally.figures.push(`through the CLI: ${files} files, ${runs} runs of status, changes, changes --since and checkpoint `
    + '(plus status after each successful checkpoint)');
}

/* ------------------------------------------------------------------ mount ---- */

async function mountCase(h: Harness, s: CliSource, m: Mutant, n: number, counts: { mounted: number; refused: number }): Promise<string[]> {
  const journal = join(h.dir, `mount-${n}.trackfs`);
  await writeFile(journal, m.bytes, { mode: 0o600 });
  const problems: string[] = [];
  const mount = await h.trackfs(['mount', h.image, h.mnt, '--journal', journal], { timeoutMs: 45_000 });
  problems.push(...endProblems(mount, [0, 1], 'mount'));
  counts[mount.code === 0 ? 'mounted' : 'refused']++;
  if (mount.code !== 0) {
    if (h.mounted()) problems.push('mount failed but left the mountpoint mounted');
    return problems;
  }
  const status = await h.status();
  const changes = await h.trackfs(['changes', h.mnt, '--json']);
  problems.push(...endProblems(changes, [0], 'changes of the mount'));
  if (changes.code === 0) {
    const got = parseJson<ChangesJson>(changes, 'changes of the mount', problems);
    if (got) problems.push(...listingProblems(s.src, m, got, s.listing, s.listing.clusterSize));
  }
  const unmount: RunResult = await h.trackfs(['unmount', h.mnt], { timeoutMs: 45_000 });
  problems.push(...endProblems(unmount, [0], 'unmount'));
  if (h.mounted()) problems.push('still mounted after unmount');
  if (alive(status.pid)) {
    await h.waitDaemonGone(status.pid, 10_000).catch(() => problems.push(`daemon ${status.pid} still running after unmount`));
  }
  const after = await h.trackfs(['status', journal, '--json']);
  if (after.code !== 0) problems.push(`status of the journal after the mount exited ${after.code}: ${after.stderr.trim()}`);
  return problems;
}

async function viaMount(opts: KindOptions, tally: Tally, mounts: number, h: Harness, all: CliSource[]): Promise<void> {
  // Mountable sources only: the workload's (the golden files are for other image sizes).
  const cs = all.filter((s) => s.src.image !== null);
  const counts = { mounted: 0, refused: 0 };
  for (let n = 0; n < mounts; n++) {
    const rng = mulberry32(caseSeed(opts.seed, 'fuzz-mount', n));
    const s = cs[Math.floor(rng() * cs.length)]!;
    const m = mutate(s.bytes, rng);
    const problems = await mountCase(h, s, m, n, counts).catch((e: unknown) => [`the case could not run: ${messageOf(e)}`]);
    if (h.mounted()) {
      problems.push('left mounted');
      await h.trackfs(['unmount', '--lazy', h.mnt]);
    }
    tally.check(problems, `fuzz --seed ${opts.seed}: mount case ${n} (${s.src.name}; ${m.cls}: ${m.what})`);
    if (n % 50 === 49) opts.log(`fuzz: ${n + 1} journals through mount`);
  }
  tally.figures.push(`through mount: ${mounts} journals, ${counts.mounted} mounted (then changes, unmount, status), `
    + `${counts.refused} refused`);
}

/* ------------------------------------------------------------------ the kind ---- */

async function run(opts: KindOptions): Promise<KindResult> {
  const tally = new Tally('fuzz', 'journal files (in process, through the CLI, through mount)');
  const budget = opts.short ? SHORT : LONG;
  const bootId = await currentBootId();
  await inProcess(opts, tally, budget.inProcess, bootId);
  const noMounts = fuseUnavailable();
  const sources = await makeSources(opts.seed, SOURCES, bootId);
  await withHarness(async (h) => {
    const cs = await cliSources(h, sources);
    await viaCli(opts, tally, budget.cliFiles, h, cs);
    if (noMounts) tally.figures.push(`through mount: not run (${noMounts})`);
    else await viaMount(opts, tally, budget.mounts, h, cs);
  });
  return tally.result();
}

export const fuzzKind: Kind = {
  name: 'fuzz',
  what: 'damaged, crafted and random journals through the decoder, the CLI and mount',
  run,
};
