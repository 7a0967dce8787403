/**
 * Reads the kernel's mount table. Linux: /proc/self/mountinfo (the kernel escapes space, tab,
 * newline and backslash as \040, \011, \012, \134 in the mount point, the type and the source).
 * Elsewhere there is no such file and callers fall back to comparing st_dev with the parent.
 */
import { readFile } from 'node:fs/promises';

export interface MountEntry {
  mountPoint: string;
  fsType: string;
  source: string;
  majorMinor: string;
  /** A FUSE mount's owner (the user_id= super option), when the entry has one. */
  userId?: number;
}

function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    if (left.length < 5 || right.length < 2) continue;
    const owner = /(?:^|,)user_id=(\d+)(?:,|$)/.exec(right[2] ?? '');
    out.push({
      majorMinor: left[2]!,
      mountPoint: unescapeMountField(left[4]!),
      fsType: unescapeMountField(right[0]!),
      source: unescapeMountField(right[1]!),
      ...(owner ? { userId: Number(owner[1]) } : {}),
    });
  }
  return out;
}

/** The mount table, or null where the platform has no /proc/self/mountinfo. */
export async function readMounts(): Promise<MountEntry[] | null> {
  try {
    return parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8'));
  } catch {
    return null;
  }
}
