/**
 * Whether two paths a user gave name the same file, so that a path meant for trackfs's own output
 * (a sidecar, a log) is never the image, the journal or the backup target. A file that exists is
 * known by its device and inode (a symlink or a hard link to it is the same file); a file not made
 * yet by the real path it would get.
 */
import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';

/** The path `p` resolves to: its real path, or its directory's real path and its name. */
export async function resolvedPath(p: string): Promise<string> {
  const abs = resolve(p);
  try {
    return await realpath(abs);
  } catch {
    // Not there (yet), or a dangling symlink: where its directory entry would be.
    const dir = await realpath(dirname(abs)).catch(() => dirname(abs));
    return join(dir, basename(abs));
  }
}

async function identity(p: string): Promise<string | null> {
  try {
    const st = await stat(p, { bigint: true });
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

export async function sameFile(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([identity(a), identity(b)]);
  if (x !== null && y !== null) return x === y;
  return (await resolvedPath(a)) === (await resolvedPath(b));
}

/** Whether `p` is `dir` or lies under it (real paths compared). */
export async function isInside(p: string, dir: string): Promise<boolean> {
  const [inner, outer] = await Promise.all([resolvedPath(p), resolvedPath(dir)]);
  return inner === outer || inner.startsWith(outer.endsWith(sep) ? outer : outer + sep);
}

/** The first of `others` (label, path) that `p` is the same file as, or null. */
export async function firstSameFile(p: string, others: ReadonlyArray<readonly [string, string]>): Promise<string | null> {
  for (const [label, other] of others) {
    if (other && (await sameFile(p, other))) return label;
  }
  return null;
}
