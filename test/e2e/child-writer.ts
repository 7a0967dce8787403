/**
 * A writer run as a separate process by the end-to-end tests: the test process must never be the
 * one doing blocking I/O on a mount that might hang, and the FUSE server is another process again.
 *
 *   node child-writer.js apply PATH SPEC.json
 *       applies the writes of SPEC.json ([{offset, length, seed}], data = seededBytes(seed, length))
 *       in order, then prints "done N".
 *   node child-writer.js loop PATH CLUSTER_SIZE CLUSTER_COUNT SEED BLOCK_SIZE
 *       forever: picks the next cluster-aligned offset (loopOffsets), writes BLOCK_SIZE bytes there
 *       and, only once the write call has returned, prints "INDEX OFFSET". On an error prints
 *       "error INDEX CODE" and exits 2.
 *   node child-writer.js seq PATH START BLOCK_SIZE COUNT
 *       one sequential stream: writes BLOCK_SIZE bytes at START, START + BLOCK_SIZE, ... (COUNT
 *       writes), printing "INDEX OFFSET" after each has returned; errors as for loop.
 *   node child-writer.js io PATH FLAGS STEP...
 *       opens PATH (FLAGS: "-" or a comma list of direct, dsync, readonly) and runs each STEP as
 *       one call: write:OFFSET:LENGTH:SEED (writeFully, data = seededBytes(SEED, LENGTH)),
 *       read:OFFSET:LENGTH, fsync, fdatasync. Prints "ok STEP BYTES" after each step; on a failure
 *       (the open included) prints "error STEP CODE BYTES" (the errno name, the bytes done before
 *       it) and exits 2. The tests compare errno names, never strerror text.
 */
import { closeSync, constants as fsConstants, fdatasyncSync, fsyncSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { mulberry32, seededBytes, type WriteSpec } from './prng.js';

/** Writes all of buf; the bytes written so far ride on a failure as `done`. */
function writeFully(fd: number, buf: Buffer, position: number): void {
  let done = 0;
  while (done < buf.length) {
    let n: number;
    try {
      n = writeSync(fd, buf, done, buf.length - done, position + done);
    } catch (e) {
      throw Object.assign(e as Error, { done });
    }
    if (n <= 0) throw Object.assign(new Error('short write'), { code: 'EIO', done });
    done += n;
  }
}

function say(line: string): void {
  writeSync(1, `${line}\n`);
}

/** Writes buf at offset; prints "INDEX OFFSET" once the call returned, or "error INDEX CODE" and exits 2. */
function writeAndReport(fd: number, buf: Buffer, offset: number, index: number): void {
  try {
    writeFully(fd, buf, offset);
  } catch (e) {
    say(`error ${index} ${(e as NodeJS.ErrnoException).code ?? 'unknown'}`);
    process.exit(2);
  }
  say(`${index} ${offset}`);
}

function apply(path: string, specFile: string): void {
  const writes = JSON.parse(readFileSync(specFile, 'utf8')) as WriteSpec[];
  const fd = openSync(path, 'r+');
  for (const w of writes) writeFully(fd, seededBytes(w.seed, w.length), w.offset);
  closeSync(fd);
  say(`done ${writes.length}`);
}

function loop(path: string, clusterSize: number, clusterCount: number, seed: number, blockSize: number): void {
  const fd = openSync(path, 'r+');
  const rng = mulberry32(seed);
  const buf = Buffer.alloc(blockSize);
  for (let i = 0; i < 1_000_000; i++) {
    const offset = Math.floor(rng() * clusterCount) * clusterSize;
    buf.fill(i & 0xff);
    buf.writeUInt32LE(i, 0);
    writeAndReport(fd, buf, offset, i);
  }
}

function seq(path: string, start: number, blockSize: number, count: number): void {
  const fd = openSync(path, 'r+');
  const buf = Buffer.alloc(blockSize);
  for (let i = 0; i < count; i++) {
    const offset = start + i * blockSize;
    buf.fill((i + 1) & 0xff);
    writeAndReport(fd, buf, offset, i);
  }
  closeSync(fd);
  say(`done ${count}`);
}

const OPEN_FLAGS: Record<string, number> = { direct: fsConstants.O_DIRECT, dsync: fsConstants.O_DSYNC };

/** One step of `io`: the bytes it moved. */
function ioStep(fd: number, step: string): number {
  const [op, ...args] = step.split(':');
  const n = args.map(Number);
  switch (op) {
    case 'write':
      writeFully(fd, seededBytes(n[2]!, n[1]!), n[0]!);
      return n[1]!;
    case 'read': {
      const buf = Buffer.alloc(n[1]!);
      return readSync(fd, buf, 0, buf.length, n[0]!);
    }
    case 'fsync':
      fsyncSync(fd);
      return 0;
    case 'fdatasync':
      fdatasyncSync(fd);
      return 0;
    default:
      process.stderr.write(`unknown io step ${step}\n`);
      process.exit(64);
  }
}

function io(path: string, flags: string, steps: string[]): void {
  const names = flags === '-' ? [] : flags.split(',');
  let openFlags = names.includes('readonly') ? fsConstants.O_RDONLY : fsConstants.O_RDWR;
  for (const f of names) if (f !== 'readonly') openFlags |= OPEN_FLAGS[f] ?? 0;
  let fd: number;
  try {
    fd = openSync(path, openFlags);
  } catch (e) {
    say(`error open ${(e as NodeJS.ErrnoException).code ?? 'unknown'} 0`);
    process.exit(2);
  }
  for (const step of steps) {
    try {
      say(`ok ${step} ${ioStep(fd, step)}`);
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { done?: number };
      say(`error ${step} ${err.code ?? 'unknown'} ${err.done ?? 0}`);
      process.exit(2);
    }
  }
  closeSync(fd);
}

const [mode, path, ...rest] = process.argv.slice(2);
if (mode === 'apply' && path && rest[0]) apply(path, rest[0]);
else if (mode === 'seq' && path && rest.length === 3) seq(path, Number(rest[0]), Number(rest[1]), Number(rest[2]));
else if (mode === 'io' && path && rest.length >= 2) io(path, rest[0]!, rest.slice(1));
else if (mode === 'loop' && path && rest.length === 4) loop(path, Number(rest[0]), Number(rest[1]), Number(rest[2]), Number(rest[3]));
else {
  process.stderr.write('usage: child-writer.js apply PATH SPEC | loop PATH CLUSTER_SIZE CLUSTER_COUNT SEED BLOCK_SIZE\n'
    + '  | seq PATH START BLOCK_SIZE COUNT | io PATH FLAGS STEP...\n');
  process.exit(64);
}
