/**
 * Kind 6, other users, as real unprivileged users made for the purpose (useradd; removed after).
 *
 *   bats     (long run; the short one leaves it to npm test's cli suite)
 *            test/cli/11-other-users.bats, which already holds the cases of the issue (a runtime
 *            directory made or opened by another user, a symlinked one, a fake socket answering
 *            "nothing changed", modes 0700/0600 under umask 000 for a user's own mount, another
 *            user's unmount, --allow-other with the image's mode, owner and group, an unreachable
 *            mountpoint; /dev/fuse opened to 0666 and restored): each of its tests is a case here.
 *   neighbour a root mount made under umask 000 with --allow-other (so others reach the mountpoint
 *            and the only barrier left is the runtime directory and socket), in a directory others
 *            may traverse; another user
 *            runs every command at it (status, changes, checkpoint, eject, resume, unmount, unmount
 *            --lazy, backup), with its own runtime directory and with root's named outright: each
 *            fails with one line, and the mount is still active, trusted, at the same checkpoint,
 *            with its runtime files 0600 in a 0700 directory.
 */
import { chmod, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { BIN, fuseUnavailable, type ChangesJson, type Harness } from '../../e2e/harness.js';
import { endProblems } from '../lib/cli-checks.js';
import { messageOf, Tally, type Kind, type KindOptions, type KindResult } from '../lib/kind.js';
import { withHarness } from '../lib/scope.js';
import { makeUser } from '../lib/users.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const BATS_FILE = 'test/cli/11-other-users.bats';

function viaBats(tally: Tally, opts: KindOptions): { ran: number; skipped: number } | string {
  const version = spawnSync('bats', ['--version'], { encoding: 'utf8' });
  if (version.status !== 0) return 'bats is not installed';
  const r = spawnSync('bats', ['--tap', BATS_FILE], { cwd: ROOT, encoding: 'utf8', maxBuffer: 16 << 20, timeout: 600_000 });
  let ran = 0;
  let skipped = 0;
  for (const line of r.stdout.split('\n')) {
    const m = /^(ok|not ok) \d+ (.*)$/.exec(line);
    if (!m) continue;
    if (/# skip/.test(m[2]!)) {
      skipped++;
      continue;
    }
    ran++;
    tally.check(m[1] === 'ok' ? [] : ['failed (run it with: bats test/cli/11-other-users.bats)'], `other-users: bats: ${m[2]}`);
  }
  if (ran + skipped === 0) tally.fail('other-users: bats', `no test ran (exit ${r.status}): ${r.stderr.slice(0, 300)}`);
  opts.log(`other-users: ${ran} bats tests`);
  return { ran, skipped };
}

async function modeOf(path: string): Promise<string> {
  return ((await stat(path)).mode & 0o777).toString(8);
}

async function neighbour(h: Harness, tally: Tally, opts: KindOptions): Promise<number> {
  await h.createImage(16 * 1024 * 1024);
  await chmod(h.dir, 0o711);
  const m = await h.run('sh', ['-c', 'umask 000; exec "$@"', 'sh', process.execPath, BIN, 'mount', h.image, h.mnt, '--allow-other']);
  if (m.code !== 0) throw new Error(`root's mount under umask 000 with --allow-other failed: ${m.stderr.trim()}`);
  const before = await h.changes();
  const other = await makeUser(h);
  const attempts: [string, string[], Record<string, string>][] = [];
  const commands = [['status', h.mnt], ['changes', h.mnt], ['checkpoint', h.mnt], ['eject', h.mnt], ['resume', h.mnt],
    ['unmount', h.mnt], ['unmount', '--lazy', h.mnt], ['backup', h.mnt, '/tmp/never-written.img', '--no-progress']];
  for (const args of commands) {
    attempts.push([`${args.join(' ')} (its own runtime directory)`, args, {}]);
    attempts.push([`${args.join(' ')} (root's runtime directory named)`, args, { TRACKFS_RUNTIME_DIR: h.runtimeDir }]);
  }
  for (const [what, args, env] of attempts) {
    const r = await other.trackfs(args, env);
    opts.log(`${what}: ${r.stderr.trim().split(h.dir).join('DIR')}`);
    const problems = endProblems(r, [1, 2], `${other.name}: ${what}`);
    if (r.code === 0) problems.push(`another user's '${what}' succeeded: ${r.stdout.trim().slice(0, 200)}`);
    // Asked through its own runtime directory, the CLI finds no socket: it must say whose mount
    // it is, not that the daemon may be stuck or gone (unmount goes through fusermount instead).
    if (args[0] !== 'unmount' && Object.keys(env).length === 0 && !r.stderr.includes("another user's (uid 0)")) {
      problems.push(`does not say the mount is another user's: ${r.stderr.trim().slice(0, 200)}`);
    }
    const after = await h.trackfs(['changes', h.mnt, '--json']);
    if (after.code !== 0) problems.push(`root's mount does not answer after it: ${after.stderr.trim()}`);
    else {
      const c = JSON.parse(after.stdout) as ChangesJson;
      if (!c.trusted || c.latestCheckpoint !== before.latestCheckpoint || c.generation !== before.generation) {
        problems.push(`root's mount changed: trusted ${c.trusted}, checkpoint ${c.latestCheckpoint} (was ${before.latestCheckpoint})`);
      }
    }
    const s = await h.status();
    if (s.state !== 'active') problems.push(`root's mount is ${s.state} after it`);
    tally.check(problems, `other-users: neighbour ${what}`);
  }
  const files = [[h.runtimeDir, '700'], [h.socket, '600'], [join(h.runtimeDir, `${h.socket.split('/').pop()!.replace(/\.sock$/, '')}.json`), '600']];
  const modes: string[] = [];
  for (const [path, want] of files) {
    const got = await modeOf(path!).catch((e: unknown) => `unreadable (${messageOf(e)})`);
    if (got !== want) modes.push(`${path} is ${got}, not ${want}`);
  }
  tally.check(modes, 'other-users: neighbour: runtime files of a mount made under umask 000');
  await h.unmount();
  await other.remove();
  return attempts.length;
}

async function run(opts: KindOptions): Promise<KindResult> {
  const tally = new Tally('other-users', 'checks as a real unprivileged user');
  const noMounts = fuseUnavailable();
  if (noMounts) return tally.result(noMounts);
  if (process.getuid?.() !== 0) return tally.result('not root (users cannot be made)');
  // The short run leaves the bats file to the cli suite of `npm test`, which runs it anyway.
  const bats = opts.short ? 'the short run leaves it to the cli suite of npm test' : viaBats(tally, opts);
  const attempts = await withHarness((h) => neighbour(h, tally, opts));
  if (typeof bats === 'string') tally.figures.push(`bats: not run (${bats})`);
  else tally.figures.push(`bats ${BATS_FILE}: ${bats.ran} tests run, ${bats.skipped} skipped`);
  tally.figures.push(`neighbour: ${attempts} commands of another user at a root mount made under umask 000 with --allow-other, `
    + 'each refused; runtime modes checked');
  return tally.result();
}

export const otherUsersKind: Kind = {
  name: 'other-users',
  what: 'runtime directory, socket, --allow-other and file modes, as real unprivileged users',
  run,
};
