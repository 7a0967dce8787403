/**
 * The FUSE adapter (src/fuse/adapter.ts) over a fake volume: for every op, the errno it answers and
 * that it answers exactly once, with one integer first (fuse-native crashes the process, or
 * corrupts later replies, otherwise), including when the volume throws, replies twice, or throws
 * after replying. Also: a write's buffer is copied before the volume sees it, and a read never
 * copies past FUSE's buffer.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { constants as fsConstants } from 'node:fs';
import { buildFuseOps, VOLUME_NAME } from '../../src/fuse/adapter.js';
import type { ReadReply, Reply, Volume } from '../../src/volume/volume.js';
import { fuseErr } from '../../src/util/errno.js';

const SIZE = 1 << 20;
const VOLUME = `/${VOLUME_NAME}`;

/** What the adapter uses of a Volume, answering as the test sets it up. */
class FakeVolume {
  readonly size = SIZE;
  readonly modifiedAtMs = 1_700_000_000_000;
  constructor(readonly readOnly = false) {}
  /** Methods (and getters) that throw when called. */
  throwing = new Set<string>();
  /**
   * How the volume answers read, write and fsync: once, later (as the real one does); twice, later;
   * or at once and then throwing.
   */
  answer: 'once' | 'twice' | 'then-throw' = 'once';
  result = 0;
  readData: Buffer | null = null;
  readonly calls: { op: string; args: unknown[] }[] = [];
  openResult = 0;

  private enter(op: string, args: unknown[]): void {
    this.calls.push({ op, args });
    if (this.throwing.has(op)) throw new Error(`fake volume: ${op} failed`);
  }

  private respond(reply: () => void): void {
    if (this.answer === 'then-throw') {
      reply();
      throw new Error('fake volume: thrown after the reply');
    }
    setImmediate(() => {
      reply();
      if (this.answer === 'twice') reply();
    });
  }

  open(wantsWrite: boolean): number {
    this.enter('open', [wantsWrite]);
    return this.openResult;
  }

  release(): void {
    this.enter('release', []);
  }

  read(position: number, length: number, reply: ReadReply): void {
    this.enter('read', [position, length]);
    this.respond(() => reply(this.result, this.readData));
  }

  write(data: Buffer, position: number, reply: Reply): void {
    this.enter('write', [data, position]);
    this.respond(() => reply(this.result));
  }

  fsync(reply: Reply): void {
    this.enter('fsync', []);
    this.respond(() => reply(this.result));
  }
}

/** A getter that throws when asked to (a volume whose state is broken). */
function throwingGetters(v: FakeVolume): FakeVolume {
  for (const name of ['size', 'modifiedAtMs', 'readOnly'] as const) {
    const value = v[name];
    Object.defineProperty(v, name, {
      get: () => {
        if (v.throwing.has(name)) throw new Error(`fake volume: ${name} failed`);
        return value;
      },
    });
  }
  return v;
}

interface Built {
  volume: FakeVolume;
  ops: Record<string, (...args: unknown[]) => void>;
  internalErrors: string[];
}

function build(readOnly = false): Built {
  const volume = throwingGetters(new FakeVolume(readOnly));
  const internalErrors: string[] = [];
  const ops = buildFuseOps(
    volume as unknown as Volume,
    { internalError: (op) => internalErrors.push(op) },
    { permissions: 0o644, uid: 0, gid: 0 },
  );
  return { volume, ops: ops as Record<string, (...args: unknown[]) => void>, internalErrors };
}

/** Calls an op and collects every reply, after the fake volume's asynchronous answers have run. */
async function call(b: Built, op: string, ...args: unknown[]): Promise<unknown[][]> {
  const replies: unknown[][] = [];
  const fn = b.ops[op];
  assert.ok(fn, `the adapter has no ${op}`);
  fn(...args, (...r: unknown[]) => replies.push(r));
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  return replies;
}

/** Exactly one reply whose first value is `result` (an integer); returns the rest of it. */
function once(replies: unknown[][], result: number, what: string): unknown[] {
  assert.equal(replies.length, 1, `${what}: ${replies.length} replies`);
  const [first, ...rest] = replies[0]!;
  assert.ok(Number.isInteger(first), `${what}: the reply is not an integer: ${String(first)}`);
  assert.equal(first, result, `${what}: replied ${String(first)}, expected ${result}`);
  return rest;
}

const EPERM = fuseErr('EPERM');
const ENOENT = fuseErr('ENOENT');
const EISDIR = fuseErr('EISDIR');
const EINVAL = fuseErr('EINVAL');
const EIO = fuseErr('EIO');
const openFor = (write: boolean) => ({ op: 'open', args: [write] });
/** FUSE's buffers of two reads: one of the length asked for, one shorter (the rest is not FUSE's). */
const READ_BUF = Buffer.alloc(8);
const SHORT_BUF = Buffer.from('________');

interface Case {
  /** The op's arguments before the callback. */
  args: unknown[];
  result: number;
  /** Set up the fake volume first. */
  given?: (v: FakeVolume) => void;
  /** Checks on the rest of the reply and on the volume's calls. */
  then?: (rest: unknown[], v: FakeVolume) => void;
  name: string;
}

/** Every op the adapter serves, with what it answers. */
const CASES: Record<string, Case[]> = {
  init: [{ name: 'succeeds', args: [], result: 0 }],
  getattr: [
    {
      name: 'root is a directory', args: ['/'], result: 0,
      then: ([st]) => assert.equal((st as { mode: number }).mode & fsConstants.S_IFMT, fsConstants.S_IFDIR),
    },
    {
      name: 'the volume is a regular file of the image\'s size', args: [VOLUME], result: 0,
      then: ([st]) => {
        const s = st as { mode: number; size: number; mtime: Date };
        assert.equal(s.mode & fsConstants.S_IFMT, fsConstants.S_IFREG);
        assert.equal(s.size, SIZE);
        assert.equal(s.mtime.getTime(), 1_700_000_000_000);
      },
    },
    { name: 'anything else does not exist', args: ['/other'], result: ENOENT },
  ],
  readdir: [
    { name: 'root lists the volume', args: ['/'], result: 0, then: ([names]) => assert.deepEqual(names, [VOLUME_NAME]) },
    { name: 'the volume is not a directory', args: [VOLUME], result: fuseErr('ENOTDIR') },
  ],
  open: [
    {
      name: 'read-only open', args: [VOLUME, fsConstants.O_RDONLY], result: 0,
      then: (_r, v) => assert.deepEqual(v.calls, [openFor(false)]),
    },
    {
      name: 'write-only open asks for write access', args: [VOLUME, fsConstants.O_WRONLY], result: 0,
      then: (_r, v) => assert.deepEqual(v.calls, [openFor(true)]),
    },
    {
      name: 'read-write open asks for write access', args: [VOLUME, fsConstants.O_RDWR | fsConstants.O_DIRECT], result: 0,
      then: (_r, v) => assert.deepEqual(v.calls, [openFor(true)]),
    },
    {
      name: 'the volume\'s refusal is the answer', args: [VOLUME, fsConstants.O_RDWR], result: fuseErr('EROFS'),
      given: (v) => { v.openResult = fuseErr('EROFS'); },
    },
    { name: 'root is a directory', args: ['/', fsConstants.O_RDONLY], result: EISDIR, then: (_r, v) => assert.equal(v.calls.length, 0) },
    { name: 'anything else does not exist', args: ['/other', fsConstants.O_RDONLY], result: ENOENT },
  ],
  release: [{
    name: 'releases the volume', args: [VOLUME, 0], result: 0,
    then: (_r, v) => assert.deepEqual(v.calls, [{ op: 'release', args: [] }]),
  }],
  read: [
    {
      name: 'the bytes the volume read, copied into FUSE\'s buffer', args: [VOLUME, 0, READ_BUF, 8, 4096], result: 5,
      given: (v) => { v.result = 5; v.readData = Buffer.from('hello---'); },
      then: (_r, v) => {
        assert.deepEqual(v.calls, [{ op: 'read', args: [4096, 8] }]);
        assert.equal(READ_BUF.toString('latin1'), 'hello\0\0\0');
      },
    },
    {
      name: 'never past FUSE\'s buffer', args: [VOLUME, 0, SHORT_BUF.subarray(0, 4), 8, 0], result: 4,
      given: (v) => { v.result = 8; v.readData = Buffer.from('abcdefgh'); },
      then: () => assert.equal(SHORT_BUF.toString('latin1'), 'abcd____'),
    },
    { name: 'end of the volume', args: [VOLUME, 0, Buffer.alloc(8), 8, SIZE], result: 0 },
    {
      name: 'the volume\'s errno', args: [VOLUME, 0, Buffer.alloc(8), 8, 0], result: fuseErr('ENODEV'),
      given: (v) => { v.result = fuseErr('ENODEV'); },
    },
  ],
  write: [
    {
      name: 'the volume\'s byte count, for a copy of the data', args: [VOLUME, 0, Buffer.from('abcd'), 4, 512], result: 4,
      given: (v) => { v.result = 4; },
      then: (_r, v) => assert.deepEqual(v.calls, [{ op: 'write', args: [Buffer.from('abcd'), 512] }]),
    },
    {
      name: 'a length past FUSE\'s buffer is cut to it', args: [VOLUME, 0, Buffer.from('ab'), 8, 0], result: 2,
      given: (v) => { v.result = 2; },
      then: (_r, v) => assert.deepEqual(v.calls[0]!.args[0], Buffer.from('ab')),
    },
    {
      name: 'the volume\'s errno', args: [VOLUME, 0, Buffer.from('abcd'), 4, SIZE], result: fuseErr('ENOSPC'),
      given: (v) => { v.result = fuseErr('ENOSPC'); },
    },
  ],
  fsync: [
    {
      name: 'the volume\'s answer', args: [VOLUME, 0, 0], result: 0,
      then: (_r, v) => assert.deepEqual(v.calls, [{ op: 'fsync', args: [] }]),
    },
    { name: 'the volume\'s errno', args: [VOLUME, 1, 0], result: EIO, given: (v) => { v.result = EIO; } },
  ],
  flush: [{ name: 'succeeds', args: [VOLUME, 0], result: 0 }],
  truncate: [
    { name: 'to the same size succeeds', args: [VOLUME, SIZE], result: 0 },
    { name: 'to another size is refused', args: [VOLUME, SIZE - 1], result: EINVAL },
    { name: 'to zero is refused', args: [VOLUME, 0], result: EINVAL },
    { name: 'root is a directory', args: ['/', 0], result: EISDIR },
    { name: 'anything else does not exist', args: ['/other', 0], result: ENOENT },
  ],
  ftruncate: [
    { name: 'to the same size succeeds', args: [VOLUME, 0, SIZE], result: 0 },
    { name: 'to another size is refused', args: [VOLUME, 0, 2 * SIZE], result: EINVAL },
    { name: 'root is a directory', args: ['/', 0, 0], result: EISDIR },
  ],
  statfs: [{
    name: 'blocks of the volume, none free', args: ['/'], result: 0,
    then: ([st]) => assert.deepEqual([(st as { blocks: number }).blocks, (st as { bfree: number }).bfree], [SIZE / 4096, 0]),
  }],
  access: [{ name: 'left to the kernel (default_permissions)', args: [VOLUME, 2], result: 0 }],
  utimens: [
    { name: 'the volume: accepted', args: [VOLUME, 0, 0], result: 0 },
    { name: 'root: accepted', args: ['/', 0, 0], result: 0 },
    { name: 'anything else does not exist', args: ['/other', 0, 0], result: ENOENT },
  ],
  chmod: [{ name: 'denied', args: [VOLUME, 0o777], result: EPERM }],
  chown: [{ name: 'denied', args: [VOLUME, 0, 0], result: EPERM }],
  create: [{ name: 'denied', args: ['/new', 0o644], result: EPERM }],
  mknod: [{ name: 'denied', args: ['/new', 0o644, 0], result: EPERM }],
  unlink: [{ name: 'denied', args: [VOLUME], result: EPERM }],
  rename: [{ name: 'denied', args: [VOLUME, '/other'], result: EPERM }],
  link: [{ name: 'denied', args: [VOLUME, '/other'], result: EPERM }],
  symlink: [{ name: 'denied', args: [VOLUME, '/other'], result: EPERM }],
  mkdir: [{ name: 'denied', args: ['/dir', 0o755], result: EPERM }],
  rmdir: [{ name: 'denied', args: ['/'], result: EPERM }],
};

/** Ops whose answer depends on the volume: what makes each throw, and its arguments. */
const USES_VOLUME: Record<string, { throwing: string; args: unknown[] }> = {
  getattr: { throwing: 'modifiedAtMs', args: [VOLUME] },
  readdir: { throwing: 'size', args: ['/'] },
  open: { throwing: 'open', args: [VOLUME, fsConstants.O_RDWR] },
  release: { throwing: 'release', args: [VOLUME, 0] },
  read: { throwing: 'read', args: [VOLUME, 0, Buffer.alloc(8), 8, 0] },
  write: { throwing: 'write', args: [VOLUME, 0, Buffer.alloc(8), 8, 0] },
  fsync: { throwing: 'fsync', args: [VOLUME, 0, 0] },
  truncate: { throwing: 'size', args: [VOLUME, 0] },
  ftruncate: { throwing: 'size', args: [VOLUME, 0, 0] },
  statfs: { throwing: 'size', args: ['/'] },
};

describe('FUSE adapter', () => {
  test('every op it serves is in this table, and nothing else', () => {
    assert.deepEqual(Object.keys(build().ops).sort(), Object.keys(CASES).sort());
  });

  for (const [op, cases] of Object.entries(CASES)) {
    for (const c of cases) {
      test(`${op}: ${c.name}: answers ${c.result} once`, async () => {
        const b = build();
        c.given?.(b.volume);
        const rest = once(await call(b, op, ...c.args), c.result, op);
        c.then?.(rest, b.volume);
        assert.deepEqual(b.internalErrors, []);
      });
    }
  }

  for (const [op, how] of Object.entries(USES_VOLUME)) {
    test(`${op}: a volume that throws gets EIO, once, and is reported as an internal error`, async () => {
      const b = build();
      b.volume.throwing.add(how.throwing);
      once(await call(b, op, ...how.args), EIO, op);
      assert.deepEqual(b.internalErrors, [op]);
    });
  }

  for (const op of ['read', 'write', 'fsync']) {
    for (const answer of ['twice', 'then-throw'] as const) {
      const how = answer === 'twice' ? 'twice' : 'and then throws';
      test(`${op}: a volume that answers ${how}: FUSE gets its first answer, once`, async () => {
        const b = build();
        b.volume.answer = answer;
        b.volume.result = fuseErr('ENOSPC');
        once(await call(b, op, ...USES_VOLUME[op]!.args), fuseErr('ENOSPC'), op);
        assert.deepEqual(b.internalErrors, answer === 'twice' ? [] : [op], 'a throw is reported as an internal error');
      });
    }
  }

  test('write: the data is copied before the volume sees it (FUSE\'s buffer dies with the reply)', async () => {
    const b = build();
    b.volume.result = 4;
    const fuseBuf = Buffer.from('abcd');
    const replies: unknown[][] = [];
    b.ops['write']!(VOLUME, 0, fuseBuf, 4, 0, (...r: unknown[]) => replies.push(r));
    const seen = b.volume.calls[0]!.args[0] as Buffer;
    fuseBuf.fill(0); // what fuse-native does to the memory once detached
    assert.deepEqual(seen, Buffer.from('abcd'), 'the volume\'s data changed with FUSE\'s buffer');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(replies, [[4]]);
  });

  test('a read-only volume shows no write permission', async () => {
    const b = build(true);
    const [st] = once(await call(b, 'getattr', VOLUME), 0, 'getattr');
    assert.equal((st as { mode: number }).mode & 0o222, 0);
  });
});
