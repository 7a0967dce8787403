/**
 * A real unprivileged user for the other-users kind: made with useradd (no home, no shell, its own
 * group), used through setpriv (its uid and gid, no other groups, none of our trackfs environment),
 * removed with userdel, with the runtime directory trackfs may have made for it.
 */
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { BIN, type Harness, type RunResult } from '../../e2e/harness.js';

export interface TestUser {
  name: string;
  uid: number;
  /** Runs `trackfs ARGS` as this user. */
  trackfs(args: string[], env?: Record<string, string>): Promise<RunResult>;
  remove(): Promise<void>;
}

export async function makeUser(h: Harness): Promise<TestUser> {
  const name = `tftort${process.pid % 100000}x${Math.floor(Math.random() * 1e6)}`;
  await h.runOk('useradd', ['--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', '--user-group', name]);
  const uid = Number((await h.runOk('id', ['-u', name])).stdout.trim());
  let removed = false;
  const remove = async () => {
    if (removed) return;
    removed = true;
    // Not through the harness: this may run during its cleanup, when it takes no more commands.
    await promisify(execFile)('userdel', [name]).catch(() => undefined);
    await rm(`/tmp/trackfs-${uid}`, { recursive: true, force: true });
  };
  h.onCleanup(remove);
  return {
    name,
    uid,
    trackfs: (args, env = {}) => {
      const sets = Object.entries(env).map(([k, v]) => `${k}=${v}`);
      const unset = ['TRACKFS_RUNTIME_DIR', 'TRACKFS_STATE_DIR', 'XDG_RUNTIME_DIR'].flatMap((k) => ['-u', k]);
      const as = ['--reuid', name, '--regid', name, '--clear-groups', '--'];
      return h.run('setpriv', [...as, 'env', ...unset, ...sets, process.execPath, BIN, ...args]);
    },
    remove,
  };
}
