/**
 * The I/O side of the native data path's proof, run as its own process (the test process and the
 * FUSE server never do I/O on the mount):
 *
 *   node native-io.js PATH OPS.json
 *
 * OPS.json is IoOp[]. Opens PATH once with O_DIRECT (every request reaches the server, none is
 * answered from the page cache), runs the ops in order and prints one JSON line: IoResult[].
 */
import { closeSync, constants as fsConstants, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { seededBytes } from './prng.js';

export type IoOp =
  | { kind: 'write'; offset: number; length: number; seed: number }
  | { kind: 'read'; offset: number; length: number };

/** write: bytes written; read: bytes read and their sha256; or the error code. */
export type IoResult = { n: number; sha256?: string } | { error: string };

const [path, opsFile] = process.argv.slice(2);
const ops = JSON.parse(readFileSync(opsFile!, 'utf8')) as IoOp[];
const fd = openSync(path!, fsConstants.O_RDWR | fsConstants.O_DIRECT);
const out: IoResult[] = [];
for (const op of ops) {
  try {
    if (op.kind === 'write') {
      out.push({ n: writeSync(fd, seededBytes(op.seed, op.length), 0, op.length, op.offset) });
    } else {
      const buf = Buffer.alloc(op.length);
      const n = readSync(fd, buf, 0, op.length, op.offset);
      out.push({ n, sha256: createHash('sha256').update(buf.subarray(0, n)).digest('hex') });
    }
  } catch (e) {
    out.push({ error: (e as NodeJS.ErrnoException).code ?? 'unknown' });
  }
}
closeSync(fd);
process.stdout.write(`${JSON.stringify(out)}\n`);
