/**
 * Whether this machine can mount FUSE at all, and if not, the one line that says what to install.
 *
 * trackfs is installed by npm, which cannot install the system's part of FUSE: libfuse 2 (the
 * library fuse-native links, libfuse.so.2) and fusermount (libfuse runs it for auto_unmount and
 * unprivileged mounts; trackfs runs it to unmount). fuse-native is an optional dependency, so
 * `npm install -g trackfs` succeeds without them (its own install fails there when no compiler is
 * at hand), and everything that does not mount (status, changes, checkpoint and backup of a journal
 * or an image) works. A mount asks `requireFuse` before it touches the image or the journal, and
 * `requireFuseAccess` (may this user mount, with these options) once the user's paths are checked.
 */
import { constants as fsConstants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { ErrnoError } from '../util/errno.js';

type FuseNative = typeof import('fuse-native').default;

const LINUX_HINT = 'install libfuse2 and fuse (Debian, Ubuntu: apt-get install libfuse2 fuse; Ubuntu 24.04: libfuse2t64 fuse)';
const MACOS_HINT = 'on macOS, mount needs macFUSE with its osxfuse compatibility layer on an Intel Mac (fuse-native has no arm64 build)';

/** What to install, for this platform. */
export function fuseInstallHint(): string {
  return process.platform === 'darwin' ? MACOS_HINT : LINUX_HINT;
}

let loaded: Promise<FuseNative> | null = null;

async function load(): Promise<FuseNative> {
  try {
    return (await import('fuse-native')).default;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_MODULE_NOT_FOUND') {
      // npm left the optional dependency out: its install failed (no libfuse2 and no compiler).
      const what = 'FUSE is not available: the fuse-native module is not installed';
      throw new ErrnoError('ENOSYS', `${what}; ${fuseInstallHint()}, then install trackfs again`);
    }
    const why = (err.message ?? String(e)).split('\n')[0];
    throw new ErrnoError('ENOSYS', `FUSE is not available (${why}); ${fuseInstallHint()}`);
  }
}

/** fuse-native, loaded once (it loads libfuse.so.2); rejects with the one-line ErrnoError above. */
export function loadFuseNative(): Promise<FuseNative> {
  loaded ??= load();
  return loaded;
}

function executable(path: string): Promise<boolean> {
  return access(path, fsConstants.X_OK).then(() => true, () => false);
}

/** fusermount where libfuse looks for it: its build's directory (/bin on Debian), then PATH. */
async function hasFusermount(): Promise<boolean> {
  const dirs = ['/bin', '/usr/bin', ...(process.env['PATH'] ?? '').split(delimiter).filter((d) => d.startsWith('/'))];
  for (const dir of dirs) {
    if (await executable(join(dir, 'fusermount'))) return true;
  }
  return false;
}

/**
 * Whether this user may open /dev/fuse. libfuse 2 opens it itself, before it would fall back to
 * fusermount, so a user who cannot gets only "fuse failed" from fuse-native; asked here, the
 * message can say why. Root is not asked (the device's mode does not bind it).
 */
async function devFuseProblem(): Promise<ErrnoError | null> {
  if (process.getuid?.() === 0) return null;
  try {
    await access('/dev/fuse', fsConstants.R_OK | fsConstants.W_OK);
    return null;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      return new ErrnoError('ENOSYS', 'FUSE is not available: /dev/fuse does not exist (modprobe fuse as root; in a container, pass the device in)');
    }
    let mode = '';
    try {
      const st = await stat('/dev/fuse');
      mode = ` (mode 0${(st.mode & 0o777).toString(8)}, owner uid ${st.uid})`;
    } catch {
      // The mode is only a hint.
    }
    return new ErrnoError('EACCES', `cannot use FUSE as this user: /dev/fuse is not readable and writable by you${mode}; `
      + 'most systems make it 0666 (chmod 0666 /dev/fuse as root), or mount as root');
  }
}

/** fusermount refuses allow_other to a user unless /etc/fuse.conf has a user_allow_other line. */
async function allowOtherProblem(): Promise<ErrnoError | null> {
  if (process.getuid?.() === 0) return null;
  const conf = await readFile('/etc/fuse.conf', 'utf8').catch(() => '');
  if (conf.split('\n').some((line) => line.trim() === 'user_allow_other')) return null;
  return new ErrnoError('EACCES', '--allow-other needs a line user_allow_other in /etc/fuse.conf when you are not root '
    + '(add it as root), or mount without --allow-other');
}

/**
 * Resolves when a FUSE mount can be attempted here; otherwise rejects with an ENOSYS ErrnoError
 * whose message is one line naming what is missing and what to install.
 */
export async function requireFuse(): Promise<void> {
  await loadFuseNative();
  if (process.platform === 'linux' && !(await hasFusermount())) {
    throw new ErrnoError('ENOSYS', `FUSE is not available: fusermount is not installed; ${fuseInstallHint()}`);
  }
}

/**
 * Resolves when this user may make this mount (Linux: /dev/fuse open to the user; allow_other
 * allowed by /etc/fuse.conf); otherwise rejects with a one-line ErrnoError saying what to change.
 * Asked after the user's paths are checked (their errors come first) and before the journal is
 * made active: otherwise the FUSE mount fails later with only "fuse failed". macOS: macFUSE
 * decides at mount time, and its refusal is reported then.
 */
export async function requireFuseAccess(opts: { allowOther: boolean }): Promise<void> {
  if (process.platform !== 'linux') return;
  const problem = (await devFuseProblem()) ?? (opts.allowOther ? await allowOtherProblem() : null);
  if (problem) throw problem;
}
