/** Whether two paths name the same file: by device and inode, else (one is missing) by real path. */
import { realpath, stat } from 'node:fs/promises';

export async function sameFile(a: string, b: string): Promise<boolean> {
  try {
    const [x, y] = await Promise.all([stat(a), stat(b)]);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/** Same file if both exist; otherwise the same path once symlinks are resolved. */
export async function samePath(a: string, b: string): Promise<boolean> {
  if (await sameFile(a, b)) return true;
  const [x, y] = await Promise.all([realpath(a).catch(() => a), realpath(b).catch(() => b)]);
  return x === y;
}
