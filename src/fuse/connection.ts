/** When the kernel has let go of this process's FUSE connection. */
import { readdir, readlink } from 'node:fs/promises';

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
