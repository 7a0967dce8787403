/** This process's FUSE connection: when the kernel has let go of it, and how to end it. */
import { writeFileSync } from 'node:fs';
import { readdir, readlink } from 'node:fs/promises';
import { readMounts } from '../util/mountinfo.js';

/** Resolves once this process holds no /dev/fuse descriptor (Linux); never elsewhere. */
export async function whenFuseConnectionClosed(): Promise<void> {
  if (process.platform !== 'linux') return new Promise(() => {});
  for (;;) {
    const fds = await readdir('/proc/self/fd').catch(() => [] as string[]);
    const links = await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
    if (!links.includes('/dev/fuse')) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The kernel's number for the FUSE connection of our mount (its device minor, the name of its
 * directory under /sys/fs/fuse/connections), or null where it cannot be read (not Linux).
 */
export async function fuseConnectionOf(mountpoint: string, fsname: string): Promise<string | null> {
  const mounts = await readMounts();
  const ours = mounts?.filter((m) => m.mountPoint === mountpoint && m.source === fsname).pop();
  return ours?.majorMinor.split(':')[1] ?? null;
}

/**
 * Ends connection `id` in the kernel: every request still waiting on it (one a native worker holds
 * while it waits on a stalled device, too) is answered with an error at once, and later ones are
 * refused. For the daemon's last moment only, when such a worker would otherwise keep the process,
 * and with it the connection, from ever closing. Synchronous on purpose: the caller is about to
 * exit; fusectl is a kernel interface, not a device. Says what went wrong, or null.
 */
export function abortFuseConnection(id: string): string | null {
  try {
    writeFileSync(`/sys/fs/fuse/connections/${id}/abort`, '1');
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}
