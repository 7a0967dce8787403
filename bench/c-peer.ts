/**
 * Builds the C libfuse2 passthrough peer (bench/passthrough.c) into a private temp dir, fresh each
 * run (never a stale binary from an earlier one). Compiler and pkg-config run as argv, no shell.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './paths.js';
import { aptInstall } from './tools.js';

const run = promisify(execFile);
const FUSE_HEADER = '/usr/include/fuse/fuse.h';

export type PeerBuild = { binary: string; remove(): void } | { error: string };

function firstLine(e: unknown): string {
  const text = ((e as { stderr?: string }).stderr ?? '').trim() || (e as Error).message;
  return text.split('\n')[0]!;
}

/** Installs libfuse-dev and a compiler when missing, then compiles `source`; the binary lives until remove(). */
export async function buildPassthrough(source = join(ROOT, 'bench', 'passthrough.c')): Promise<PeerBuild> {
  if (!existsSync(FUSE_HEADER)) aptInstall(['libfuse-dev', 'pkg-config', 'gcc', 'libc6-dev']);
  if (!existsSync(FUSE_HEADER)) return { error: 'libfuse-dev is not installed and apt-get could not install it' };
  const dir = mkdtempSync(join(tmpdir(), 'trackfs-bench-bin-')); // mode 0700: ours alone
  const remove = () => rmSync(dir, { recursive: true, force: true });
  const binary = join(dir, 'passthrough');
  try {
    // pkg-config prints flags separated by blanks (none of fuse's contain one).
    const flags = (await run('pkg-config', ['--cflags', '--libs', 'fuse'])).stdout.trim().split(/\s+/).filter(Boolean);
    await run('cc', ['-O2', '-Wall', '-o', binary, source, ...flags]);
  } catch (e) {
    remove();
    const shown = source.startsWith(ROOT) ? relative(ROOT, source) : source;
    return { error: `cannot build ${shown}: ${firstLine(e)}` };
  }
  return { binary, remove };
}
