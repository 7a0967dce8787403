/**
 * `trackfs install-mount-helper [--remove]` (root): puts /sbin/mount.fuse.trackfs in place, where
 * mount(8) looks for the helper of type fuse.trackfs (see mount-helper.ts), and says where.
 *
 * It is a short /bin/sh script that runs this package's bin/mount.fuse.trackfs.js with this
 * Node.js, both by absolute path: at boot, mount(8) runs it with systemd's PATH, where an nvm or
 * /opt Node.js is not. Root will run it, so everything it runs must be root's alone: the Node.js
 * binary, the package's files and every directory above them are owned by root and writable by
 * no one else (a sticky directory such as /tmp excepted). Otherwise nothing is installed and the
 * one line names the file. A file already at the helper's path is replaced only when it is one
 * of ours (its marker line); written to a temporary file first, then renamed over, so mount(8)
 * never sees half a script.
 */
import type { Stats } from 'node:fs';
import { lstat, readdir, readFile, realpath, unlink } from 'node:fs/promises';
import { basename, dirname, join, parse } from 'node:path';
import { replaceDurably } from '../util/durable-replace.js';
import { messageOf } from '../util/errno.js';
import { codeOf } from '../util/fs-errors.js';
import { effectiveUid } from '../util/private-dir.js';
import { PACKAGE_ROOT, packageInfo } from '../util/package-info.js';
import { printable, shellQuote } from '../util/text.js';
import { fail } from './errors.js';

/** Where mount(8) looks for helpers (libmount's search path starts with /sbin). */
const HELPER_DIR = '/sbin';
const MARKER = "# trackfs mount helper: installed by 'trackfs install-mount-helper'";
/** Like every program in /sbin: it holds nothing secret, and only root's mount(8) runs it to mount. */
const HELPER_MODE = 0o755;
const STICKY = 0o1000;

/** The helper's name in /sbin, and the package's entry it runs. */
const HELPER_NAME = 'mount.fuse.trackfs';
const HELPER_ENTRY = 'bin/mount.fuse.trackfs.js';

export function helperScript(node: string, packageRoot: string, version: string): string {
  const script = join(packageRoot, HELPER_ENTRY);
  return [
    '#!/bin/sh',
    `${MARKER} (trackfs ${version}).`,
    '# mount(8) runs it for file systems of type fuse.trackfs (mount -t fuse.trackfs, /etc/fstab).',
    "# After moving trackfs or Node.js, run 'trackfs install-mount-helper' again; '--remove' removes it.",
    `node=${shellQuote(node)}`,
    `script=${shellQuote(script)}`,
    'if [ ! -x "$node" ] || [ ! -f "$script" ]; then',
    '  echo "trackfs: $0 runs $script with $node, and one of them is gone: install trackfs again and run' +
      ' \'trackfs install-mount-helper\', or remove $0" >&2',
    '  exit 1',
    'fi',
    'exec "$node" "$script" "$@"',
    '',
  ].join('\n');
}

function describe(st: Stats): string {
  return `owner uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}`;
}

/** Why root must not run what is at `path` (from its lstat), or null. */
function untrusted(path: string, st: Stats): string | null {
  if (st.uid !== 0) return `${path} is owned by uid ${st.uid} (${describe(st)})`;
  const others = (st.mode & 0o022) !== 0 && !(st.isDirectory() && (st.mode & STICKY) !== 0);
  if (others) return `${path} is writable by group or others (${describe(st)})`;
  return null;
}

/** Every directory from / down to `realPath`'s parent, and the path itself. */
async function checkPath(realPath: string): Promise<string | null> {
  const chain: string[] = [];
  for (let p = realPath; ; p = dirname(p)) {
    chain.unshift(p);
    if (p === parse(p).root) break;
  }
  for (const p of chain) {
    const why = untrusted(p, await lstat(p));
    if (why) return why;
  }
  return null;
}

/** Everything under `dir` (symbolic links themselves are not followed: their targets are inside or checked). */
async function checkTree(dir: string): Promise<string | null> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    const why = untrusted(p, await lstat(p));
    if (why) return why;
    if (entry.isDirectory()) {
      const inner = await checkTree(p);
      if (inner) return inner;
    }
  }
  return null;
}

/** Whether what is at `path` is a helper this command installed (or nothing is there). */
async function ours(path: string): Promise<'missing' | 'ours' | string> {
  let st: Stats;
  try {
    st = await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw e;
  }
  if (!st.isFile()) return `${path} exists and is not a file trackfs installed (${st.isSymbolicLink() ? 'a symbolic link' : describe(st)})`;
  const text = await readFile(path, 'utf8');
  if (!text.split('\n').some((l) => l.startsWith(MARKER))) return `${path} exists and was not installed by trackfs`;
  return 'ours';
}


function reason(e: unknown): string {
  return codeOf(e) ?? messageOf(e);
}

export async function installMountHelperCommand(remove: boolean): Promise<void> {
  if (process.platform !== 'linux') fail('install-mount-helper is for the mount(8) of Linux; on this system, use trackfs mount');
  if (effectiveUid() !== 0) fail(`install-mount-helper must run as root: it writes ${join(HELPER_DIR, HELPER_NAME)}`);
  const dir = await realpath(HELPER_DIR).catch((e) => fail(`cannot use ${HELPER_DIR}: ${reason(e)}`));
  const path = join(dir, HELPER_NAME);
  const state = await ours(path);
  if (state !== 'missing' && state !== 'ours') fail(`${printable(state)}; move it away first`);

  if (remove) {
    if (state === 'missing') {
      process.stdout.write(`no trackfs mount helper at ${path}: nothing to remove\n`);
      return;
    }
    await unlink(path).catch((e) => fail(`cannot remove ${path}: ${reason(e)}`));
    process.stdout.write(`removed ${path}\n`);
    return;
  }

  const packageRoot = await realpath(PACKAGE_ROOT);
  const node = await realpath(process.execPath);
  if (/\/_npx\//.test(packageRoot)) {
    fail(`trackfs runs from npx's cache (${printable(packageRoot)}), which npm may clear: `
      + 'install it first (npm install -g trackfs), then run trackfs install-mount-helper');
  }
  for (const check of [() => checkPath(node), () => checkPath(packageRoot), () => checkTree(packageRoot)]) {
    const why = await check();
    if (why) {
      fail(`not installing a helper that root's mount(8) would run: ${printable(why)}; `
        + 'install trackfs and Node.js as root (npm install -g trackfs)');
    }
  }
  const { version } = packageInfo();
  await replaceDurably(path, helperScript(node, packageRoot, version), { mode: HELPER_MODE, tmpPrefix: `.${basename(path)}` }).catch((e: unknown) => fail(`cannot write ${path}: ${reason(e)}`));
  process.stdout.write(`installed ${path}: it runs trackfs ${version} from ${packageRoot} with ${node}\n`);
  process.stdout.write('mount -t fuse.trackfs IMAGE MOUNTPOINT -o OPTIONS and fuse.trackfs lines in /etc/fstab now work (see README)\n');
}
