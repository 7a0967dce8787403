/** The programs the benchmark runs: found on PATH (no shell) and installed with apt-get when missing. */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';

/** Whether `cmd` is an executable file in a directory of PATH. */
export function onPath(cmd: string): boolean {
  for (const dir of (process.env['PATH'] ?? '').split(':').filter(Boolean)) {
    const file = join(dir, cmd);
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return true;
    } catch { /* not here */ }
  }
  return false;
}

let aptUpdated = false;

/** Installs Debian packages (as root, with apt-get; the index is updated once if needed); whether it worked. */
export function aptInstall(pkgs: string[]): boolean {
  if (process.getuid?.() !== 0 || !onPath('apt-get')) return false;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args: string[]) => spawnSync('apt-get', args, { stdio: 'ignore', env }).status === 0;
  const install = () => apt(['install', '-y', '-qq', '--no-install-recommends', ...pkgs]);
  if (install()) return true;
  if (!aptUpdated) {
    aptUpdated = true;
    apt(['update', '-qq']);
  }
  return install();
}

/** `cmd` on PATH, installing `pkgs` if it is not; whether it is there now. */
export function ensureCommand(cmd: string, pkgs: string[]): boolean {
  return onPath(cmd) || (aptInstall(pkgs) && onPath(cmd));
}
