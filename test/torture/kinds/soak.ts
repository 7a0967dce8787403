/**
 * Kind 5, soak. One mount (strict or ordered by the seed) takes a mixed workload for as long as
 * asked (`--minutes`; the short run takes 30 s): cycles of a checkpoint, a burst of writes from a
 * loop writer, `changes --since` that checkpoint (every acknowledged write listed), and by turns
 * a backup (`--checkpoint`, incremental after the first), an eject/resume, a status. After each
 * cycle the daemon's resident memory (VmRSS) and open descriptors (/proc/PID/fd) are sampled.
 *
 * Bounds (growth past them fails): after the first cycles (warm-up), descriptors never exceed the
 * warm-up's highest count by more than FD_SLACK, and resident memory never exceeds the warm-up's
 * highest by more than RSS_SLACK_MIB. Every command of every cycle must succeed.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { clustersOfExtents, fuseUnavailable, sleep, type ChangesJson, type Harness } from '../../e2e/harness.js';
import { mulberry32 } from '../../e2e/prng.js';
import { endProblems, parseJson } from '../lib/cli-checks.js';
import { startLoopWriter } from '../../e2e/writer.js';
import { caseSeed, messageOf, Tally, type Kind, type KindOptions, type KindResult } from '../lib/kind.js';
import { withHarness } from '../lib/scope.js';

const MiB = 1024 * 1024;
const IMAGE_SIZE = 128 * MiB;
const CLUSTER_SIZE = 64 * 1024;
const CLUSTERS = IMAGE_SIZE / CLUSTER_SIZE;
const WARM_UP_CYCLES = 3;
const FD_SLACK = 4;
const RSS_SLACK_MIB = 64;
const SHORT_MINUTES = 0.5;

interface Sample { cycle: number; rssKiB: number; fds: number }

async function sample(pid: number, cycle: number): Promise<Sample> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rss = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  const fds = (await readdir(`/proc/${pid}/fd`)).length;
  return { cycle, rssKiB: rss ? Number(rss[1]) : 0, fds };
}

async function cycle(h: Harness, opts: KindOptions, n: number, backup: string): Promise<string[]> {
  const rng = mulberry32(caseSeed(opts.seed, 'soak', n));
  const problems: string[] = [];
  const cp = await h.trackfs(['checkpoint', h.mnt]);
  problems.push(...endProblems(cp, [0], 'checkpoint'));
  if (cp.code !== 0) return problems;
  const base = cp.stdout.trim();
  const writer = startLoopWriter(h, h.volume, CLUSTER_SIZE, CLUSTERS, caseSeed(opts.seed, 'soak-writer', n), 4096 * (1 + Math.floor(rng() * 16)));
  await sleep(100 + Math.floor(rng() * 400));
  writer.child.kill('SIGKILL');
  await writer.exited;
  if (writer.problem) problems.push(`writer: ${writer.problem}`);
  const changes = await h.trackfs(['changes', h.mnt, '--since', base, '--json']);
  problems.push(...endProblems(changes, [0], `changes --since ${base}`));
  const got = changes.code === 0 ? parseJson<ChangesJson>(changes, 'changes', problems) : null;
  if (got) {
    if (!got.trusted) problems.push(`untrusted: ${got.reason ?? ''}`);
    const listed = clustersOfExtents(got.extents, CLUSTER_SIZE);
    const missing = writer.acknowledged.filter((o) => !listed.has(o / CLUSTER_SIZE)).length;
    if (missing > 0) problems.push(`${missing} of ${writer.acknowledged.length} acknowledged writes missing from changes since ${base}`);
  }
  switch (n % 3) {
    case 0: {
      const b = await h.trackfs(['backup', h.mnt, backup, '--checkpoint', '--no-progress'], { timeoutMs: 120_000 });
      problems.push(...endProblems(b, [0], 'backup'));
      break;
    }
    case 1: {
      const e = await h.trackfs(['eject', h.mnt]);
      problems.push(...endProblems(e, [0], 'eject'));
      const r = await h.trackfs(['resume', h.mnt]);
      problems.push(...endProblems(r, [0], 'resume'));
      break;
    }
    default: {
      const s = await h.trackfs(['status', h.mnt, '--json']);
      problems.push(...endProblems(s, [0], 'status'));
    }
  }
  return problems;
}

/** Problems with the samples: growth past the stated bounds after the warm-up. */
function growth(samples: Sample[]): string[] {
  const warm = samples.filter((s) => s.cycle < WARM_UP_CYCLES);
  const later = samples.filter((s) => s.cycle >= WARM_UP_CYCLES);
  if (warm.length === 0 || later.length === 0) return [];
  const fdBound = Math.max(...warm.map((s) => s.fds)) + FD_SLACK;
  const rssBound = Math.max(...warm.map((s) => s.rssKiB)) + RSS_SLACK_MIB * 1024;
  const problems: string[] = [];
  const fdOver = later.find((s) => s.fds > fdBound);
  if (fdOver) problems.push(`open descriptors grew to ${fdOver.fds} at cycle ${fdOver.cycle} (bound ${fdBound})`);
  const rssOver = later.find((s) => s.rssKiB > rssBound);
  if (rssOver) {
    const mib = (kib: number) => Math.round(kib / 1024);
    problems.push(`resident memory grew to ${mib(rssOver.rssKiB)} MiB at cycle ${rssOver.cycle} (bound ${mib(rssBound)} MiB)`);
  }
  return problems;
}

async function run(opts: KindOptions): Promise<KindResult> {
  const tally = new Tally('soak', 'cycles (checkpoint, writes, changes, backup or eject/resume or status)');
  const noMounts = fuseUnavailable();
  if (noMounts) return tally.result(noMounts);
  const minutes = opts.short ? Math.min(opts.minutes, SHORT_MINUTES) : opts.minutes;
  const durability = opts.seed % 2 === 0 ? 'strict' : 'ordered';
  const samples: Sample[] = [];
  await withHarness(async (h) => {
    await h.createImage(IMAGE_SIZE);
    const pid = await h.mount({ clusterSize: '64K', durability });
    const backup = join(h.dir, 'backup.img');
    const until = Date.now() + minutes * 60_000;
    for (let n = 0; Date.now() < until; n++) {
      let problems: string[];
      try {
        problems = await cycle(h, opts, n, backup);
        samples.push(await sample(pid, n));
      } catch (e) {
        problems = [`the cycle could not run: ${messageOf(e)}`];
      }
      tally.check(problems, `soak --seed ${opts.seed}: cycle ${n}`);
      if (n % 25 === 24) opts.log(`soak: ${n + 1} cycles`);
    }
    tally.check(growth(samples), `soak --seed ${opts.seed}: resources over ${samples.length} samples`);
    const u = await h.trackfs(['unmount', h.mnt], { timeoutMs: 45_000 });
    tally.check(endProblems(u, [0], 'unmount at the end'), `soak --seed ${opts.seed}: unmount`);
  });
  const first = samples[0];
  const last = samples.at(-1);
  const peak = samples.reduce((m, s) => Math.max(m, s.rssKiB), 0);
  const mib = (s: Sample | undefined) => (s ? Math.round(s.rssKiB / 1024) : '?');
  tally.figures.push(`${minutes} min soak, ${durability}, ${samples.length} cycles; daemon RSS ${mib(first)} MiB after the first cycle, `
    + `${mib(last)} MiB at the end, peak ${Math.round(peak / 1024)} MiB; open fds ${first?.fds ?? '?'} then ${last?.fds ?? '?'} `
    + `(bounds: +${FD_SLACK} fds, +${RSS_SLACK_MIB} MiB over the highest of the first ${WARM_UP_CYCLES} cycles)`);
  return tally.result();
}

export const soakKind: Kind = {
  name: 'soak',
  what: 'a mixed workload for --minutes on one mount; the daemon\'s memory and descriptors sampled, growth bounded',
  run,
};
