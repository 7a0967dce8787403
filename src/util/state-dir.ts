/**
 * Where trackfs keeps state that must outlive a daemon and the failure of a journal's disk: the
 * per-user state directory (durability records). `/var/lib/trackfs` for root,
 * `$XDG_STATE_HOME/trackfs` or `~/.local/state/trackfs` otherwise; `TRACKFS_STATE_DIR` overrides
 * (tests). It must be private (private-dir.ts); trackfs creates it, mode 0700, when it first needs
 * it.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

export function stateDir(): string {
  const override = process.env['TRACKFS_STATE_DIR'];
  if (override) return resolve(override);
  if (process.geteuid?.() === 0) return '/var/lib/trackfs';
  // The XDG spec says a relative XDG_STATE_HOME is invalid and must be ignored.
  const xdg = process.env['XDG_STATE_HOME'];
  if (xdg && isAbsolute(xdg)) return join(xdg, 'trackfs');
  return join(homedir(), '.local', 'state', 'trackfs');
}
