/**
 * The mount(8) helper's mapping (src/cli/mount-helper.ts) of `mount.fuse.trackfs SOURCE TARGET
 * [-sfnv] [-o OPTIONS]` to a `trackfs mount` command line, on the argument lists util-linux's
 * mount(8) really passes (seen with a logging helper: `mount -t fuse.trackfs disk.img mnt -o
 * durability=ordered` runs `mount.fuse.trackfs /abs/disk.img /abs/mnt -o rw,durability=ordered`;
 * an fstab `user` adds noexec,nosuid,nodev; noauto and x-* never reach the helper), and the
 * script `trackfs install-mount-helper` writes (src/cli/install-mount-helper.ts), run for real.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { HelperUsageError, planMount, splitOptions } from '../../src/cli/mount-helper.js';
import { helperScript } from '../../src/cli/install-mount-helper.js';

const plan = (...argv: string[]) => planMount(argv, '/work');
const args = (...argv: string[]) => plan(...argv).trackfsArgs;

function refused(argv: string[], pattern: RegExp): void {
  assert.throws(() => planMount(argv, '/work'), (e: unknown) => {
    assert.ok(e instanceof HelperUsageError, `expected a HelperUsageError, got ${String(e)}`);
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
}

describe('planMount: what mount(8) passes', () => {
  test('mount -t fuse.trackfs IMAGE MOUNTPOINT -o durability=ordered,journal=...', () => {
    assert.deepEqual(args('/srv/disk.img', '/mnt/disk', '-o', 'rw,durability=ordered,journal=/var/lib/disk.trackfs'),
      ['mount', '--durability=ordered', '--journal=/var/lib/disk.trackfs', '/srv/disk.img', '/mnt/disk']);
  });

  test('no options at all (mount(8) still passes -o rw)', () => {
    assert.deepEqual(args('/srv/disk.img', '/mnt/disk', '-o', 'rw'), ['mount', '/srv/disk.img', '/mnt/disk']);
    assert.deepEqual(args('/srv/disk.img', '/mnt/disk'), ['mount', '/srv/disk.img', '/mnt/disk']);
  });

  test('every value option, with - or _ in its name', () => {
    assert.deepEqual(
      args('/i', '/m', '-o', 'cluster_size=1M,mark-ahead=0,log_level=debug,log-file=/var/log/t.log,durability=strict'),
      ['mount', '--cluster-size=1M', '--mark-ahead=0', '--log-level=debug', '--log-file=/var/log/t.log', '--durability=strict', '/i', '/m'],
    );
  });

  test('ro and allow_other are switches; the last of ro and rw wins, as in mount(8)', () => {
    assert.deepEqual(args('/i', '/m', '-o', 'rw,ro,allow_other'), ['mount', '--read-only', '--allow-other', '/i', '/m']);
    assert.deepEqual(args('/i', '/m', '-o', 'ro,rw'), ['mount', '/i', '/m']);
    assert.deepEqual(args('/i', '/m', '-o', 'allow-other'), ['mount', '--allow-other', '/i', '/m']);
  });

  test('the last value of an option given twice wins (fstab options, then the command line)', () => {
    assert.deepEqual(args('/i', '/m', '-o', 'durability=strict,journal=/a', '-o', 'durability=ordered'),
      ['mount', '--durability=ordered', '--journal=/a', '/i', '/m']);
  });

  test("mount(8)'s own options and what every trackfs mount is anyway are accepted and not passed", () => {
    const own = 'defaults,auto,noauto,nofail,_netdev,nouser,x-systemd.automount,x-systemd.requires-mounts-for=/srv,comment=backup';
    assert.deepEqual(args('/i', '/m', '-o', `${own},nosuid,nodev,default_permissions`), ['mount', '/i', '/m']);
  });

  test('a value in double quotes keeps its commas', () => {
    assert.deepEqual(args('/i', '/m', '-o', 'journal="/srv/a,b.trackfs",ro'),
      ['mount', '--journal=/srv/a,b.trackfs', '--read-only', '/i', '/m']);
  });

  test('an image or mountpoint given relative (the helper run by hand) becomes absolute, so it cannot read as an option', () => {
    assert.deepEqual(args('disk.img', 'mnt'), ['mount', '/work/disk.img', '/work/mnt']);
    assert.deepEqual(args('-rf', '--help'), ['mount', '/work/-rf', '/work/--help']);
  });

  test('-f checks and mounts nothing, -v says what runs, -n is accepted; grouped or apart; -o attached', () => {
    const p = plan('/i', '/m', '-fv', '-n', '-oro');
    assert.equal(p.fake, true);
    assert.equal(p.verbose, true);
    assert.deepEqual(p.trackfsArgs, ['mount', '--read-only', '/i', '/m']);
    assert.equal(plan('/i', '/m').fake, false);
  });

  test('-t fuse.trackfs is accepted', () => {
    assert.deepEqual(args('/i', '/m', '-o', 'rw', '-t', 'fuse.trackfs'), ['mount', '/i', '/m']);
  });

  test('-s (sloppy) leaves unknown options out and lists them', () => {
    const p = plan('/i', '/m', '-s', '-o', 'noatime,ro,frobnicate=1');
    assert.deepEqual(p.trackfsArgs, ['mount', '--read-only', '/i', '/m']);
    assert.deepEqual(p.ignored, ['noatime', 'frobnicate']);
  });
});

describe('planMount: refused, in one line', () => {
  test('an unknown option, naming it and what trackfs takes', () => {
    refused(['/i', '/m', '-o', 'rw,noatime'], /unknown mount option 'noatime'.*journal=/);
    refused(['/i', '/m', '-o', 'fsname=x'], /unknown mount option 'fsname'/);
  });

  test('reset-journal, even sloppy: from fstab it would reset the history at every mount', () => {
    refused(['/i', '/m', '-o', 'reset-journal'], /reset-journal' is refused: from \/etc\/fstab/);
    refused(['/i', '/m', '-s', '-o', 'reset_journal'], /reset_journal' is refused/);
  });

  test("fstab's user and users (mounts by other users)", () => {
    refused(['/i', '/m', '-o', 'noexec,nosuid,nodev,user'], /'user' is refused: mounts by other users/);
    refused(['/i', '/m', '-o', 'users'], /'users' is refused/);
  });

  test('a path option that is not absolute: an fstab line has no working directory', () => {
    refused(['/i', '/m', '-o', 'journal=disk.trackfs'], /journal= needs an absolute path, not 'disk.trackfs'/);
    refused(['/i', '/m', '-o', 'log-file=../x.log'], /log-file= needs an absolute path/);
  });

  test('a value missing, or given where none is taken', () => {
    refused(['/i', '/m', '-o', 'journal'], /'journal' needs a value/);
    refused(['/i', '/m', '-o', 'durability='], /'durability' needs a value/);
    refused(['/i', '/m', '-o', 'ro=1'], /'ro' takes no value/);
    refused(['/i', '/m', '-o', 'nofail=yes'], /'nofail' takes no value/);
  });

  test('an unbalanced quote', () => {
    refused(['/i', '/m', '-o', 'journal="/a,b'], /unbalanced double quote/);
  });

  test('bad invocations: missing arguments, unknown flags, another type, a namespace, a stray argument', () => {
    refused([], /an image and a mountpoint are needed/);
    refused(['/i'], /an image and a mountpoint are needed/);
    refused(['/i', '/m', '-x'], /unknown flag -x/);
    refused(['/i', '/m', '-o'], /-o needs a value/);
    refused(['/i', '/m', '-t', 'ext4'], /type fuse.trackfs, not 'ext4'/);
    refused(['/i', '/m', '-N', '/proc/1/ns/mnt'], /-N\) is not supported/);
    refused(['/i', '/m', 'extra'], /unexpected argument 'extra'/);
  });
});

describe('planMount: properties', () => {
  const switchName = fc.constantFrom('ro', 'rw', 'allow_other', 'nofail', 'defaults', 'nosuid');
  test('for any list of switches: --read-only exactly when the last of ro/rw is ro; image and mountpoint last', () => {
    fc.assert(fc.property(fc.array(switchName, { maxLength: 12 }), (names) => {
      const out = args('/i', '/m', '-o', names.join(','));
      const last = names.filter((n) => n === 'ro' || n === 'rw').pop();
      assert.equal(out.includes('--read-only'), last === 'ro');
      assert.equal(out.includes('--allow-other'), names.includes('allow_other'));
      assert.deepEqual(out.slice(-2), ['/i', '/m']);
    }));
  });

  test('splitOptions: joining its parts with commas gives back an unquoted option string', () => {
    const part = fc.stringMatching(/^[a-z_=/.-]{1,12}$/);
    fc.assert(fc.property(fc.array(part, { maxLength: 8 }), (parts) => {
      assert.deepEqual(splitOptions(parts.join(',')), parts);
    }));
  });
});

describe('the script install-mount-helper writes', () => {
  /** A package whose bin/mount.fuse.trackfs.js prints the arguments it got, under an awkward path. */
  async function fakePackage(t: { after(fn: () => Promise<void>): void }): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'trackfs-helper-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const root = join(dir, "it's $(touch pwned) a `pkg`");
    await mkdir(join(root, 'bin'), { recursive: true });
    await writeFile(join(root, 'bin', 'mount.fuse.trackfs.js'), 'process.stdout.write(JSON.stringify(process.argv.slice(2)));\n');
    return root;
  }

  function run(script: string, argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(script, argv, (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }));
    });
  }

  test('runs the package entry with this Node.js, passing every argument unchanged', async (t) => {
    const root = await fakePackage(t);
    const script = join(root, '..', 'mount.fuse.trackfs');
    await writeFile(script, helperScript(process.execPath, root, '9.9.9'));
    await chmod(script, 0o755);
    const argv = ['/srv/a disk.img', '/mnt/$(x)', '-o', "journal=/var/lib/it's.trackfs,ro"];
    const r = await run(script, argv);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), argv);
    assert.match(helperScript(process.execPath, root, '9.9.9'), /installed by 'trackfs install-mount-helper' \(trackfs 9\.9\.9\)/);
  });

  test('says in one line what is gone when the package has moved, and fails', async (t) => {
    const root = await fakePackage(t);
    const script = join(root, '..', 'mount.fuse.trackfs');
    await writeFile(script, helperScript(process.execPath, join(root, 'moved'), '9.9.9'));
    await chmod(script, 0o755);
    const r = await run(script, ['/i', '/m']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /^trackfs: .*is gone: install trackfs again/);
  });
});
