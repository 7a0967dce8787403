/**
 * Stats the image from a short-lived child process, for the offline commands. The image may sit
 * on a device that stopped answering: a stat in this process would block a libuv thread forever,
 * and libuv joins its threads at exit, so the command could never end. A child can be killed.
 */
import { execFile } from 'node:child_process';
import type { ImageState } from '../journal/recovery.js';

const PROBE = `
const fs = require('node:fs');
fs.stat(process.argv[1], { bigint: true }, (err, st) => {
  if (err) { process.stdout.write(JSON.stringify({ error: err.code || 'EIO' })); return; }
  process.stdout.write(JSON.stringify({ file: st.isFile(), block: st.isBlockDevice(), size: String(st.size), mtimeNs: String(st.mtimeNs) }));
});`;

export type ProbeResult = { facts: ImageState } | { missing: string } | { timedOut: true };

export function probeImage(path: string, timeoutMs = 3000): Promise<ProbeResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['-e', PROBE, path], { timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8' }, (err, stdout) => {
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
