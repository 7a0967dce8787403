/**
 * The I/O side of the native data path's proof, run as its own process (the test process and the
 * FUSE server never do I/O on the mount):
 *
 *   node native-io.js PATH OPS.json     runs IoOp[] in order, prints one JSON line: IoResult[]
 *   node native-io.js PATH --loop SEED [WRITES]
 *                                       random 4 KiB reads and writes (a WRITES share of them
 *                                       writes, default 0.75) at 4 KiB-aligned offsets, until
 *                                       killed or an error (exit 2)
 *
 * PATH is opened once with O_DIRECT: every request reaches the server, none is answered from the
 * page cache.
 */
import { closeSync, constants as fsConstants, fstatSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { mulberry32, seededBytes } from './prng.js';

export type IoOp =
  | { kind: 'write'; offset: number; length: number; seed: number }
  | { kind: 'read'; offset: number; length: number };

/** write: bytes written; read: bytes read and their sha256; or the error code. */
export type IoResult = { n: number; sha256?: string } | { error: string };

const [path, opsFile, seed, writeShare] = process.argv.slice(2);
const fd = openSync(path!, fsConstants.O_RDWR | fsConstants.O_DIRECT);

if (opsFile === '--loop') {
  const rng = mulberry32(Number(seed));
  const blocks = Math.floor(fstatSync(fd).size / 4096);
  const buf = seededBytes(Number(seed), 4096);
  for (;;) {
    const offset = Math.floor(rng() * blocks) * 4096;
    try {
      if (rng() < Number(writeShare ?? 0.75)) writeSync(fd, buf, 0, 4096, offset);
      else readSync(fd, buf, 0, 4096, offset);
    } catch (e) {
      process.stderr.write(`native-io loop: ${(e as Error).message}\n`);
      process.exit(2);
    }
  }
}

const ops = JSON.parse(readFileSync(opsFile!, 'utf8')) as IoOp[];
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
