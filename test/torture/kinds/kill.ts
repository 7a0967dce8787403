/**
 * Kind 2, kill -9 at random points of commands. On a real mount (strict and ordered in turn), a
 * loop writer runs while a command does: writes alone, checkpoint, backup, eject, resume (of an
 * ejected mount), unmount. At a random moment the daemon is killed with SIGKILL (or, for
 * checkpoint and backup, sometimes the command's own process). Then:
 *   - the command ends by itself, with a documented exit code and at most one `trackfs:` line;
 *   - nothing is left running (the daemon) or mounted (auto_unmount, else counted as forced);
 *   - after a remount, `changes --since` the checkpoint taken before the case is trusted (a
 *     process death on the same boot) and lists every write the writer saw acknowledged;
 *   - the next command works: a checkpoint, a backup (again, if one was interrupted), an
 *     unmount, and the journal is then clean.
 */
import { join } from 'node:path';
import { alive, clustersOfExtents, fuseUnavailable, sleep, waitFor, type ChangesJson, type Harness } from '../../e2e/harness.js';
import { mulberry32 } from '../../e2e/prng.js';
import { endProblems, parseJson } from '../lib/cli-checks.js';
import { startTrackfs, type RunningCommand } from '../lib/commands.js';
import { startLoopWriter } from '../../e2e/writer.js';
import { caseSeed, messageOf, Tally, type Kind, type KindOptions, type KindResult } from '../lib/kind.js';
import { withHarness } from '../lib/scope.js';

const MiB = 1024 * 1024;
const IMAGE_SIZE = 64 * MiB;
const CLUSTER_SIZE = 16 * 1024;
const CLUSTERS = IMAGE_SIZE / CLUSTER_SIZE;
const BLOCK = 4096;

type Command = 'writes' | 'checkpoint' | 'backup' | 'eject' | 'resume' | 'unmount';
const COMMANDS: Command[] = ['writes', 'checkpoint', 'backup', 'eject', 'resume', 'unmount'];

interface Budget { points: number }
const SHORT: Budget = { points: 6 };
const LONG: Budget = { points: 200 };

interface Counts { daemonKills: number; commandKills: number; autoUnmounted: number; forced: number; commandFinishedFirst: number }

function commandArgs(h: Harness, c: Command, backup: string): string[] {
  switch (c) {
    case 'checkpoint': return ['checkpoint', h.mnt];
    case 'backup': return ['backup', h.mnt, backup, '--checkpoint', '--no-progress'];
    case 'eject': return ['eject', h.mnt];
    case 'resume': return ['resume', h.mnt];
    case 'unmount': return ['unmount', h.mnt];
    default: return [];
  }
}

async function killCase(h: Harness, opts: KindOptions, n: number, counts: Counts): Promise<string[]> {
  const rng = mulberry32(caseSeed(opts.seed, 'kill', n));
  const durability = n % 2 === 0 ? 'strict' : 'ordered';
  const command = COMMANDS[n % COMMANDS.length]!;
  const backup = join(h.dir, 'backup.img');
  const problems: string[] = [];
  const pid = await h.mount({ durability });
  const base = (await h.trackfsOk(['checkpoint', h.mnt])).stdout.trim();
  const writer = startLoopWriter(h, h.volume, CLUSTER_SIZE, CLUSTERS, caseSeed(opts.seed, 'kill-writer', n), BLOCK);
  await waitFor('the writer to start', () => writer.acknowledged.length >= 1 + Math.floor(rng() * 50) || writer.hasExited(), 20_000, 5);
  if (command === 'resume') {
    const ej = await h.trackfs(['eject', h.mnt]);
    if (ej.code !== 0) problems.push(`eject before resume exited ${ej.code}: ${ej.stderr.trim()}`);
  }
  // The victim: the daemon, or (checkpoint, backup) now and then the command's own process.
  const killCommand = (command === 'checkpoint' || command === 'backup') && rng() < 0.3;
  let running: RunningCommand | null = null;
  if (command !== 'writes') running = startTrackfs(h, commandArgs(h, command, backup));
  await sleep(Math.floor(rng() * (command === 'backup' ? 600 : 250)));
  if (running && killCommand) {
    if (running.child.exitCode !== null) counts.commandFinishedFirst++;
    running.child.kill('SIGKILL');
    counts.commandKills++;
  } else {
    if (running && running.child.exitCode !== null) counts.commandFinishedFirst++;
    if (alive(pid)) h.killDaemon(pid);
    counts.daemonKills++;
  }
  const daemonKilled = !killCommand;
  if (daemonKilled) {
    await h.waitDaemonGone(pid, 15_000).catch(() => problems.push(`daemon ${pid} still running 15 s after SIGKILL`));
  }
  // The writer stops by itself once the mount is gone (its next write fails); else it is stopped.
  await Promise.race([writer.exited, sleep(daemonKilled ? 3000 : 200)]);
  if (!writer.hasExited()) writer.child.kill('SIGKILL');
  await writer.exited;
  if (writer.problem) problems.push(`writer: ${writer.problem}`);
  if (running) {
    const r = await running.done;
    if (!(killCommand && r.signal === 'SIGKILL')) {
      // Killed under it, the daemon's command fails with one line (or finished before the kill).
      problems.push(...endProblems(r, [0, 1], command));
    }
  }
  if (daemonKilled) {
    const how = await h.waitMountGone(10_000);
    counts[how === 'auto' ? 'autoUnmounted' : 'forced']++;
    if (h.mounted()) problems.push('still mounted after the daemon died');
    await h.mount({ durability });
  } else if (!h.mounted()) {
    problems.push('the mount is gone though only the command was killed');
    await h.mount({ durability });
  }
  // The checkpoint base may be of no use if the case ended in a state that re-based (never here).
  const changes = await h.trackfs(['changes', h.mnt, '--since', base, '--json']);
  problems.push(...endProblems(changes, [0], `changes --since ${base} after the kill`));
  if (changes.code === 0) {
    const got = parseJson<ChangesJson>(changes, 'changes', problems);
    if (got && !got.trusted) problems.push(`untrusted after a process kill on this boot: ${got.reason ?? ''}`);
    else if (got) {
      const listed = clustersOfExtents(got.extents, CLUSTER_SIZE);
      const missing = writer.acknowledged.map((o) => o / CLUSTER_SIZE).filter((c) => !listed.has(c));
      if (missing.length > 0) {
        problems.push(`${missing.length} of ${writer.acknowledged.length} acknowledged writes missing from changes since ${base} `
          + `(first: cluster ${missing[0]})`);
      }
    }
  }
  // The next commands work.
  const status = await h.trackfs(['status', h.mnt, '--json']);
  problems.push(...endProblems(status, [0], 'status after remount'));
  const checkpoint = await h.trackfs(['checkpoint', h.mnt]);
  problems.push(...endProblems(checkpoint, [0], 'checkpoint after remount'));
  if (command === 'backup') {
    const again = await h.trackfs(['backup', h.mnt, backup, '--checkpoint', '--no-progress'], { timeoutMs: 120_000 });
    problems.push(...endProblems(again, [0], 'backup after an interrupted one'));
  }
  const unmount = await h.trackfs(['unmount', h.mnt], { timeoutMs: 45_000 });
  problems.push(...endProblems(unmount, [0], 'unmount'));
  if (h.mounted()) problems.push('still mounted after unmount');
  const offline = await h.trackfs(['status', h.journal, '--json']);
  if (offline.code === 0) {
    const s = JSON.parse(offline.stdout) as { journalState?: string; trusted?: boolean };
    if (s.journalState !== 'clean' || s.trusted !== true) problems.push(`journal after unmount: ${s.journalState}, trusted ${s.trusted}`);
  } else problems.push(`status of the journal after unmount exited ${offline.code}: ${offline.stderr.trim()}`);
  return problems;
}

async function run(opts: KindOptions): Promise<KindResult> {
  const tally = new Tally('kill', 'kill -9 points, each remounted and judged');
  const noMounts = fuseUnavailable();
  if (noMounts) return tally.result(noMounts);
  const budget = opts.short ? SHORT : LONG;
  const points = opts.cases ?? Array.from({ length: budget.points }, (_, i) => i);
  const counts: Counts = { daemonKills: 0, commandKills: 0, autoUnmounted: 0, forced: 0, commandFinishedFirst: 0 };
  const perCommand: Record<string, number> = {};
  await withHarness(async (h) => {
    await h.createImage(IMAGE_SIZE);
    await h.trackfsOk(['mount', h.image, h.mnt, '--cluster-size', '16K']);
    await h.trackfsOk(['unmount', h.mnt]);
    for (const n of points) {
      const command = COMMANDS[n % COMMANDS.length]!;
      perCommand[command] = (perCommand[command] ?? 0) + 1;
      const where = `kill --seed ${opts.seed}: point ${n} (${command}, ${n % 2 === 0 ? 'strict' : 'ordered'})`;
      let problems: string[];
      try {
        problems = await killCase(h, opts, n, counts);
      } catch (e) {
        problems = [`the case could not run: ${messageOf(e)}`];
      }
      if (h.mounted()) await h.trackfs(['unmount', '--lazy', h.mnt]);
      tally.check(problems, where);
      if (n % 20 === 19) opts.log(`kill: ${n + 1} points`);
    }
  });
  const commands = Object.entries(perCommand).map(([c, k]) => `${k} ${c}`).join(', ');
  tally.figures.push(`${points.length} kill points (${commands}), strict and ordered `
    + `in turn: ${counts.daemonKills} daemon kills, ${counts.commandKills} command kills, ${counts.commandFinishedFirst} commands had `
    + `finished before the kill; mount gone by itself ${counts.autoUnmounted} times, forced ${counts.forced}`);
  return tally.result();
}

export const killKind: Kind = {
  name: 'kill',
  what: 'kill -9 at random points of writes, checkpoint, backup, eject, resume and unmount; remount and judge',
  run,
};
