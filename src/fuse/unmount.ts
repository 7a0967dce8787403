/**
 * Unmounting without a shell: fuse-native's own Fuse.unmount runs `fusermount -uz "<path>"` through
 * /bin/sh, so a mountpoint containing `$(...)` would execute it. Here the path is one argv entry.
 */
import { execFile } from 'node:child_process';
import { readMounts } from '../util/mountinfo.js';

export type UnmountResult = { ok: true; wasMounted: boolean } | { ok: false; busy: boolean; message: string };

const NOT_MOUNTED = /not found in|not mounted|no such file|invalid argument|not a mount/i;
const BUSY = /busy/i;

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number; text: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const text = `${stdout}${stderr}`.trim();
      if (!err) return resolve({ code: 0, text });
      const e = err as NodeJS.ErrnoException & { killed?: boolean };
      if (e.code === 'ENOENT') return resolve({ code: 127, text: `${cmd} not found` });
      if (e.killed) return resolve({ code: 124, text: `${cmd} timed out after ${timeoutMs} ms` });
      resolve({ code: typeof e.code === 'number' ? e.code : 1, text: text || e.message });
    });
  });
}

/** The mount on top of `mountpoint` (its device), null when none, undefined when the table cannot be read. */
async function topMountAt(mountpoint: string): Promise<string | null | undefined> {
  const mounts = await readMounts();
  if (!mounts) return undefined;
  return mounts.filter((m) => m.mountPoint === mountpoint).pop()?.majorMinor ?? null;
}

export async function unmountFuse(mountpoint: string, opts: { lazy: boolean; timeoutMs: number }): Promise<UnmountResult> {
  const before = await topMountAt(mountpoint);
  let r;
  let cmd: string;
  if (process.platform === 'darwin') {
    cmd = 'umount';
    r = await run('/sbin/umount', opts.lazy ? ['-f', mountpoint] : [mountpoint], opts.timeoutMs);
  } else {
    cmd = `fusermount ${opts.lazy ? '-uz' : '-u'}`;
    r = await run('fusermount', [opts.lazy ? '-uz' : '-u', '--', mountpoint], opts.timeoutMs);
    // fusermount refuses (as a user) mounts it did not make; root can fall back to umount(8).
    if (r.code === 127 || (r.code !== 0 && !NOT_MOUNTED.test(r.text) && !BUSY.test(r.text) && process.getuid?.() === 0)) {
      cmd = `umount${opts.lazy ? ' -l' : ''}`;
      r = await run('umount', opts.lazy ? ['-l', mountpoint] : [mountpoint], opts.timeoutMs);
    }
  }
  if (r.code !== 0 && !NOT_MOUNTED.test(r.text)) return { ok: false, busy: BUSY.test(r.text), message: r.text };
  // Success, or "not mounted": believed only if the mount table agrees. fusermount run by a user
  // who does not own the mount says "not found in /etc/mtab" while the mount stays.
  if (before === undefined) return { ok: true, wasMounted: r.code === 0 };
  if (before !== null && (await topMountAt(mountpoint)) === before) {
    return { ok: false, busy: false, message: `still mounted after ${cmd} (${r.text || 'it reported success'}); is it another user's mount?` };
  }
  return { ok: true, wasMounted: before !== null };
}

/**
 * Unmounts `mountpoint` only if the mount on top of it is ours: type fuse.trackfs with our fsname
 * (`trackfs:<id>`; one daemon per id holds the mountpoint's lock). Another mount there (one that
 * won a race, or was made after ours went away) is left alone. Where the mount table cannot be
 * read (not Linux), the path is all there is to go by.
 */
export async function unmountOwnFuse(
  mountpoint: string,
  fsname: string,
  opts: { lazy: boolean; timeoutMs: number },
): Promise<UnmountResult> {
  const mounts = await readMounts();
  if (mounts) {
    const top = mounts.filter((m) => m.mountPoint === mountpoint).pop();
    if (!top || top.fsType !== 'fuse.trackfs' || top.source !== fsname) return { ok: true, wasMounted: false };
  }
  return unmountFuse(mountpoint, opts);
}
