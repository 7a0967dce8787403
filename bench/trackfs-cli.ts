/** The trackfs commands the benchmark runs (argv, no shell): mount, the daemon's pid, unmount. */
import { execFileSync, spawnSync } from 'node:child_process';

type Env = NodeJS.ProcessEnv;

/** `trackfs mount IMAGE MOUNTPOINT ARGS`, warnings to our stderr; throws if it fails. */
export function mountTrackfs(bin: string, image: string, mountpoint: string, args: string[], env: Env): void {
  const argv = [bin, 'mount', image, mountpoint, '--log-level', 'warn', ...args];
  execFileSync(process.execPath, argv, { env, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** The pid of the daemon serving `mountpoint`, from `trackfs status --json`. */
export function daemonPid(bin: string, mountpoint: string, env: Env): number {
  return (JSON.parse(execFileSync(process.execPath, [bin, 'status', mountpoint, '--json'], { env }).toString()) as { pid: number }).pid;
}

/** `trackfs unmount [--lazy] MOUNTPOINT`: null when it worked, else what it said. */
export function unmountTrackfs(bin: string, mountpoint: string, env: Env, lazy = false): string | null {
  const r = spawnSync(process.execPath, [bin, 'unmount', ...(lazy ? ['--lazy'] : []), mountpoint], { env, encoding: 'utf8' });
  return r.status === 0 ? null : r.stderr.trim();
}
