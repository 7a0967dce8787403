/**
 * Which mount of which file system a journal file is on. Recorded in the header at activation
 * (format v3, `fsIdentity`) and compared at recovery: a file system unmounted and mounted again
 * (cleanly, or after its disk failed) has lost its page cache, and with it whatever an ordered-mode
 * journal had not synced yet.
 *
 *   unique:<n>  statx STATX_MNT_ID_UNIQUE (Linux 6.8+, through the native addon): never reused
 *               while the host is up. A remount always shows.
 *   reused:<n>  the mount id of /proc/self/mountinfo (statx STATX_MNT_ID, or /proc/self/fdinfo
 *               without the addon): the kernel may give a new mount the number of an old one, so
 *               a remount can go unnoticed.
 *   ''          unknown (macOS, no /proc): a remount cannot be noticed.
 */
import { readFile } from 'node:fs/promises';
import { native } from '../native/native.js';

export async function fsIdentityOf(fd: number): Promise<string> {
  const got = native()?.mountIdOf(fd);
  if (typeof got === 'object' && got.kind !== 'none') return `${got.kind}:${got.id}`;
  if (process.platform !== 'linux') return '';
  try {
    const m = /^mnt_id:\s*(\d+)\s*$/m.exec(await readFile(`/proc/self/fdinfo/${fd}`, 'utf8'));
    return m ? `reused:${m[1]}` : '';
  } catch {
    return '';
  }
}

/**
 * 'different' only when both are known and of the same kind (a unique id and a reused one are
 * different numbering schemes, not different mounts).
 */
export function compareFsIdentity(recorded: string, current: string): 'same' | 'different' | 'unknown' {
  if (!recorded || !current) return 'unknown';
  if (recorded.split(':')[0] !== current.split(':')[0]) return 'unknown';
  return recorded === current ? 'same' : 'different';
}
