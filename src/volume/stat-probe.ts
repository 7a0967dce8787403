/**
 * Stats the image from a short-lived child process, for the offline commands. The image may sit
 * on a device that stopped answering: a stat in this process would block a libuv thread forever,
 * and libuv joins its threads at exit, so the command could never end. A child can be killed.
 *
 * The path comes from a journal header, which anyone who can write the journal file controls. It
 * goes to the child in its environment, never on its command line, where node would read a path
 * such as `--eval=...` as an option and run it.
 */
import { execFile } from 'node:child_process';
import type { ImageState } from '../journal/recovery.js';

const PATH_VARIABLE = 'TRACKFS_PROBE_PATH';

const PROBE = `
const fs = require('node:fs');
fs.stat(process.env.${PATH_VARIABLE}, { bigint: true }, (err, st) => {
  if (err) { process.stdout.write(JSON.stringify({ error: err.code || 'EIO' })); return; }
  process.stdout.write(JSON.stringify({ file: st.isFile(), block: st.isBlockDevice(), size: String(st.size), mtimeNs: String(st.mtimeNs) }));
});`;

export type ProbeResult = { facts: ImageState } | { missing: string } | { timedOut: true };

export function probeImage(path: string, timeoutMs = 3000): Promise<ProbeResult> {
  // A NUL cannot be passed (nor be in a real path).
  if (path.includes('\0')) return Promise.resolve({ missing: 'EINVAL' });
  return new Promise((resolve) => {
    const env = { ...process.env, [PATH_VARIABLE]: path };
    execFile(process.execPath, ['-e', PROBE], { env, timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8' }, (err, stdout) => {
      if (err && (err as { killed?: boolean }).killed) return resolve({ timedOut: true });
      try {
        const r = JSON.parse(stdout) as { error?: string; file?: boolean; block?: boolean; size?: string; mtimeNs?: string };
        if (r.error) return resolve({ missing: r.error });
        // A block device's size is not in its stat; its mtime is not checked anyway.
        resolve({ facts: { size: r.block ? -1 : Number(r.size), mtimeNs: BigInt(r.mtimeNs ?? '0'), isBlockDevice: !!r.block } });
      } catch {
        resolve({ missing: 'EIO' });
      }
    });
  });
}
