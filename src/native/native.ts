/**
 * trackfs's optional N-API addon (native/): what Node.js does not expose, and later the native
 * data path. Loaded once, lazily; when it is missing (no compiler at install, macOS, a build for
 * another Node ABI) or switched off with TRACKFS_NATIVE=0, callers get null and use their
 * fallback, and `nativeStatus()` says why, so the daemon can log it once and `status` show it.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The addon's exports (native/src/addon.c). Integers below 0 are negative errnos. */
export interface NativeAddon {
  mountIdOf(fd: number): { kind: 'unique' | 'reused' | 'none'; id: string } | number;
  lockFile(fd: number, exclusive: boolean): number;
  unlockFile(fd: number): number;
  /** 1: pid's process group is the foreground group of our terminal; 0: it is not; below 0: no terminal, or no such process. */
  inTerminalForeground(pid: number): number;
  /** 0: `fd` now names an inert file and the old one is being closed on a thread of its own; below 0: not done. */
  retireFd(fd: number): number;
}

// dist/src/native/native.js -> <package>/native/build/Release/
const ADDON = fileURLToPath(new URL('../../../native/build/Release/trackfs_native.node', import.meta.url));

let loaded: { addon: NativeAddon | null; reason: string } | null = null;

function load(): { addon: NativeAddon | null; reason: string } {
  if (process.env['TRACKFS_NATIVE'] === '0') return { addon: null, reason: 'switched off (TRACKFS_NATIVE=0)' };
  if (!existsSync(ADDON)) return { addon: null, reason: 'not built (run scripts/setup.sh, or npm rebuild trackfs, with a C compiler)' };
  try {
    return { addon: createRequire(import.meta.url)(ADDON) as NativeAddon, reason: 'loaded' };
  } catch (e) {
    return { addon: null, reason: `cannot be loaded: ${(e as Error).message.split('\n')[0]}` };
  }
}

/** The addon, or null (see nativeStatus for why). */
export function native(): NativeAddon | null {
  loaded ??= load();
  return loaded.addon;
}

export function nativeStatus(): { available: boolean; reason: string } {
  loaded ??= load();
  return { available: loaded.addon !== null, reason: loaded.reason };
}
