/**
 * This package's own name and version, read from its package.json (dist/src/util/ -> the package
 * root). Not yargs' guess: it looks for the package.json above the node_modules that holds yargs,
 * which is npx's cache or the importing project's when trackfs is one of its dependencies.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's root directory (where package.json, bin/ and dist/ are). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * This package's own CLI entry: the daemon and the Node API start trackfs from here, not from
 * process.argv[1], which is another program when trackfs runs under mount(8)'s helper
 * (bin/mount.fuse.trackfs.js) or inside code that imports trackfs.
 */
export const TRACKFS_BIN = join(PACKAGE_ROOT, 'bin', 'trackfs.js');

let cached: { name: string; version: string } | null = null;

/** Read once, synchronously: a small file, read before the command runs. */
export function packageInfo(): { name: string; version: string } {
  if (!cached) {
    const text = readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8');
    const pkg = JSON.parse(text) as { name?: unknown; version?: unknown };
    cached = { name: String(pkg.name), version: String(pkg.version) };
  }
  return cached;
}
