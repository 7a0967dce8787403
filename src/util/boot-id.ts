/** Identifies the current boot, so ordered-mode recovery can tell a process crash from a host crash. */
import { readFile } from 'node:fs/promises';
import { uptime } from 'node:os';

export async function currentBootId(): Promise<string> {
  try {
    return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
  } catch {
    // No boot id (macOS): the boot time, rounded so jitter in uptime does not change it.
    const bootSeconds = Math.round((Date.now() / 1000 - uptime()) / 60) * 60;
    return `boottime-${bootSeconds}`;
  }
}
