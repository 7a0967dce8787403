/**
 * End to end, standalone (no trackfs daemon): the native data path's libfuse module stacked above
 * fuse-native, serving a real image through a real mount (native-server.ts), with I/O from other
 * processes (native-io.ts, dd).
 *  - bytes: random mixes of native and forwarded requests (gates opened and closed at random,
 *    first touches, rewrites, reads and writes crossing and past the end) read back what a model
 *    says, and leave the image equal to the model;
 *  - who serves what: a first touch, a closed gate and a new epoch reach JavaScript; a rewrite of a
 *    recorded cluster and a read do not; the counters of both sides add up;
 *  - draining under load: closing a gate and draining leaves nothing in flight, and no request is
 *    served natively until it opens again;
 *  - a native call stuck on a stalled device: the drain is bounded, detach is refused, the event
 *    loop still answers; when the device answers again the drain completes;
 *  - the stream follower: with the native side serving part of a sequential stream, trackfs's
 *    journal marks ahead exactly as it does when JavaScript sees every write.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { e2e, sleep, TEST_TIMEOUT_MS, waitFor, withTimeout, type Harness } from './harness.js';
import { mulberry32, seededBytes } from './prng.js';
import type { IoOp, IoResult } from './native-io.js';
import type { ServerConfig } from './native-server.js';
import type { FastPathCounters } from '../../src/native/fastpath.js';
import { fastPathStatus } from '../../src/native/fastpath.js';

const SERVER = fileURLToPath(new URL('./native-server.js', import.meta.url));
const NATIVE_IO = fileURLToPath(new URL('./native-io.js', import.meta.url));
const BACKING_HELPER = fileURLToPath(new URL('./backing-helper.js', import.meta.url));
const KiB = 1024;
const MiB = 1024 * KiB;
const CS = 64 * KiB;

const status = fastPathStatus();
const skip = status.available ? false : `no native data path here: ${status.reason}`;

interface Counts {
  native: FastPathCounters | null;
  js: { reads: number; writes: number; firstTouches: number; readBytes: number; writtenBytes: number };
}

interface Server {
  pid: number;
  call<T = unknown>(cmd: string, args?: Record<string, unknown>): Promise<T>;
  counts(): Promise<Counts>;
}

function mountedAt(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === path);
}

/** Starts native-server.js on h.image at h.mnt; stopped (and its mount removed) at cleanup. */
async function startServer(h: Harness, cfg: Partial<ServerConfig> & { size: number }): Promise<Server> {
  const full: ServerConfig = { image: h.image, mountpoint: h.mnt, clusterSize: CS, fastPath: true, tracker: 'set', openGates: true, ...cfg };
  const child: ChildProcess = fork(SERVER, [JSON.stringify(full)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: { ...process.env, UV_THREADPOOL_SIZE: '16' } });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  let next = 0;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let ready: (m: { ready: boolean; error?: string }) => void;
  const readyP = new Promise<{ ready: boolean; error?: string }>((r) => { ready = r; });
  child.on('message', (m: { id?: number; ready?: boolean; ok?: boolean; value?: unknown; error?: string }) => {
    if (m.ready !== undefined) return ready(m as { ready: boolean });
    const p = pending.get(m.id!);
    pending.delete(m.id!);
    if (m.ok) p?.resolve(m.value);
    else p?.reject(new Error(m.error));
  });
  child.on('exit', () => {
    ready({ ready: false, error: `server exited: ${stderr.trim()}` });
    for (const p of pending.values()) p.reject(new Error(`server exited: ${stderr.trim()}`));
    pending.clear();
  });
  h.beforeUnmount(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      const exited = new Promise((r) => child.once('exit', r));
      if (child.connected) child.send({ id: -1, cmd: 'unmount' });
      await withTimeout(exited, 10_000, 'server exit').catch(() => child.kill('SIGKILL'));
    }
    if (mountedAt(h.mnt)) await h.run('fusermount', ['-uz', '--', h.mnt]);
  });
  const r = await withTimeout(readyP, 20_000, 'native-server to mount');
  if (!r.ready) throw new Error(`native-server failed: ${r.error ?? ''} ${stderr}`);
  const call = <T>(cmd: string, args: Record<string, unknown> = {}) =>
    withTimeout(new Promise<T>((resolve, reject) => {
      const id = ++next;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, cmd, ...args });
    }), 20_000, `server command ${cmd}`);
  return { pid: child.pid!, call, counts: () => call<Counts>('counters') };
}

async function runIo(h: Harness, ops: IoOp[]): Promise<IoResult[]> {
  const file = await h.scratchFile(`ops-${Date.now()}-${Math.random()}.json`, JSON.stringify(ops));
  const r = await h.runOk(process.execPath, [NATIVE_IO, h.volume, file], { timeoutMs: 30_000 });
  return JSON.parse(r.stdout) as IoResult[];
}

async function imageBytes(path: string, size: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(size);
    await fh.read(buf, 0, size, 0);
    return buf;
  } finally {
    await fh.close();
  }
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('bytes: every mix of native and forwarded requests reads and leaves what the model says', { skip, timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  const size = 8 * MiB + 5 * KiB; // a partial last cluster
  const seed = Number(process.env['NATIVE_TEST_SEED'] ?? Date.now() % 100_000);
  t.diagnostic(`seed ${seed} (NATIVE_TEST_SEED=${seed} repeats this run)`);
  const rng = mulberry32(seed);
  const int = (n: number) => Math.floor(rng() * n);
  const model = seededBytes(seed, size);
  await h.createImage(size, [{ offset: 0, data: model }]);
  const server = await startServer(h, { size, commitDelayMs: 2 });
  const requests = { readBytes: 0, writtenBytes: 0 };

  for (let round = 0; round < 10; round++) {
    const gates = { read: rng() < 0.7, write: rng() < 0.7 };
    await server.call('gates', gates);
    if (!gates.write) assert.equal(await server.call('drain', { which: 'writes', timeoutMs: 10_000 }), true);
    const ops: IoOp[] = [];
    for (let i = 0; i < 40; i++) {
      // Mostly inside a few hot clusters (rewrites), some anywhere, some at the end.
      const where = rng();
      const offset = where < 0.5 ? int(8) * CS + int(CS) : where < 0.9 ? int(size) : size - int(3 * CS) + int(4 * CS);
      const length = 1 + int(rng() < 0.5 ? 8 * KiB : 128 * KiB);
      ops.push(rng() < 0.6 ? { kind: 'write', offset, length, seed: seed * 1000 + round * 100 + i } : { kind: 'read', offset, length });
    }
    const results = await runIo(h, ops);
    ops.forEach((op, i) => {
      const r = results[i]!;
      const where = `round ${round} op ${i} ${op.kind} ${op.length}@${op.offset} gates ${JSON.stringify(gates)}`;
      const expectN = op.offset >= size ? 0 : Math.min(op.length, size - op.offset);
      if (op.kind === 'write') {
        if (op.offset >= size) return assert.deepEqual(r, { error: 'ENOSPC' }, where);
        assert.deepEqual(r, { n: expectN }, where);
        seededBytes(op.seed, op.length).copy(model, op.offset, 0, expectN);
        requests.writtenBytes += expectN;
      } else {
        assert.ok('n' in r, `${where}: ${JSON.stringify(r)}`);
        assert.equal(r.n, expectN, where);
        assert.equal(r.sha256, sha(model.subarray(op.offset, op.offset + expectN)), `${where}: bytes read differ from the model`);
        requests.readBytes += expectN;
      }
    });
    assert.ok((await imageBytes(h.image, size)).equals(model), `round ${round}: the image differs from the model`);
  }

  const c = await server.counts();
  const n = c.native!;
  t.diagnostic(`native: ${n.reads} reads, ${n.writes} writes served; forwarded ${JSON.stringify(n.forwarded)}; javascript: ${c.js.reads} reads, ${c.js.writes} writes, ${c.js.firstTouches} first touches`);
  // Every forwarded request reached JavaScript, and nothing else did.
  assert.equal(c.js.writes, n.forwardedWrites);
  assert.equal(c.js.reads, n.forwardedReads);
  // Bytes: the two sides together moved exactly what the clients asked for.
  assert.equal(n.writtenBytes + c.js.writtenBytes, requests.writtenBytes);
  assert.equal(n.readBytes + c.js.readBytes, requests.readBytes);
  assert.equal(n.inFlightReads + n.inFlightWrites, 0);
  // The mix really was a mix.
  for (const [what, v] of Object.entries({
    nativeReads: n.reads,
    nativeWrites: n.writes,
    gate: n.forwarded.gate,
    unrecorded: n.forwarded.unrecorded,
    range: n.forwarded.range,
  })) {
    assert.ok(v > 0, `no ${what} in this run (seed ${seed})`);
  }
});

test('who serves: first touches, a closed gate and a new epoch reach JavaScript; rewrites and reads do not', { skip, timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  const size = 4 * MiB;
  await h.createImage(size);
  const server = await startServer(h, { size });
  const at = 3 * CS + 512;
  const step = async (what: string, ops: IoOp[], expect: { native: Partial<Record<'reads' | 'writes' | 'unrecorded' | 'gate' | 'range', number>>; js: Partial<Record<'reads' | 'writes' | 'firstTouches', number>> }) => {
    const before = await server.counts();
    const results = await runIo(h, ops);
    for (const r of results) assert.ok(!('error' in r) || (r as { error: string }).error === 'ENOSPC', `${what}: ${JSON.stringify(results)}`);
    const after = await server.counts();
    const d = (f: (c: Counts) => number) => f(after) - f(before);
    const got = {
      native: {
        reads: d((c) => c.native!.reads),
        writes: d((c) => c.native!.writes),
        unrecorded: d((c) => c.native!.forwarded.unrecorded),
        gate: d((c) => c.native!.forwarded.gate),
        range: d((c) => c.native!.forwarded.range),
      },
      js: { reads: d((c) => c.js.reads), writes: d((c) => c.js.writes), firstTouches: d((c) => c.js.firstTouches) },
    };
    const want = {
      native: { reads: 0, writes: 0, unrecorded: 0, gate: 0, range: 0, ...expect.native },
      js: { reads: 0, writes: 0, firstTouches: 0, ...expect.js },
    };
    assert.deepEqual(got, want, what);
    return results;
  };
  await step('a first touch', [{ kind: 'write', offset: at, length: 4096, seed: 1 }], { native: { unrecorded: 1 }, js: { writes: 1, firstTouches: 1 } });
  await step('a rewrite of the recorded cluster', [{ kind: 'write', offset: at, length: 4096, seed: 2 }], { native: { writes: 1 }, js: {} });
  const [read] = await step('a read', [{ kind: 'read', offset: at, length: 4096 }], { native: { reads: 1 }, js: {} });
  assert.equal((read as { sha256: string }).sha256, sha(seededBytes(2, 4096)));
  const before = (await server.counts()).native!.lastWriteAtMs;
  await sleep(5);
  await step('another rewrite', [{ kind: 'write', offset: at, length: 4096, seed: 3 }], { native: { writes: 1 }, js: {} });
  assert.ok((await server.counts()).native!.lastWriteAtMs > before, 'the time of the last native write moves');

  await server.call('gates', { read: true, write: false });
  assert.equal(await server.call('drain', { which: 'writes', timeoutMs: 10_000 }), true);
  await step('a rewrite behind the closed write gate', [{ kind: 'write', offset: at, length: 4096, seed: 4 }], { native: { gate: 1 }, js: { writes: 1 } });
  await step('a read with the read gate open', [{ kind: 'read', offset: at, length: 4096 }], { native: { reads: 1 }, js: {} });
  await server.call('gates', { read: false, write: false });
  await step('a read behind the closed read gate', [{ kind: 'read', offset: at, length: 4096 }], { native: { gate: 1 }, js: { reads: 1 } });

  // A new epoch: the rewrite of a cluster written before it is a first touch again.
  await server.call('startEpoch');
  await server.call('gates', { read: true, write: true });
  await step('a rewrite after the epoch started', [{ kind: 'write', offset: at, length: 4096, seed: 5 }], { native: { unrecorded: 1 }, js: { writes: 1, firstTouches: 1 } });
  await step('and then a rewrite again', [{ kind: 'write', offset: at, length: 4096, seed: 6 }], { native: { writes: 1 }, js: {} });

  await server.call('recordAll');
  const beforeEnd = await server.counts();
  const [cut] = await runIo(h, [{ kind: 'write', offset: size - 1024, length: 4096, seed: 7 }]);
  assert.deepEqual(cut, { n: 1024 }, 'a write crossing the end is cut at the end');
  const afterEnd = await server.counts();
  // The kernel may retry the rest of a short direct write (then ENOSPC): every try is JavaScript's.
  const ranged = afterEnd.native!.forwarded.range - beforeEnd.native!.forwarded.range;
  assert.ok(ranged >= 1 && ranged === afterEnd.js.writes - beforeEnd.js.writes && afterEnd.native!.writes === beforeEnd.native!.writes,
    `a write crossing the end goes to JavaScript (${ranged} forwarded, ${afterEnd.js.writes - beforeEnd.js.writes} in JavaScript)`);
  assert.ok((await imageBytes(h.image, size)).subarray(at, at + 4096).equals(seededBytes(6, 4096)));
});

test('draining under load: a closed, drained gate leaves nothing in flight and serves nothing natively', { skip, timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  const size = 16 * MiB;
  await h.createImage(size);
  const server = await startServer(h, { size });
  await server.call('recordAll');
  const loops = [h.spawnChild([NATIVE_IO, h.volume, '--loop', '1']), h.spawnChild([NATIVE_IO, h.volume, '--loop', '2'])];
  const counts = () => server.counts();
  await waitFor('native writes under load', async () => (await counts()).native!.writes > 500, 20_000);

  for (let round = 0; round < 5; round++) {
    await server.call('gates', { read: true, write: false });
    assert.equal(await server.call('drain', { which: 'writes', timeoutMs: 10_000 }), true, 'writes drain');
    const closed = await counts();
    assert.equal(closed.native!.inFlightWrites, 0);
    // A new epoch while the writers keep writing: only possible once drained.
    await server.call('startEpoch');
    await waitFor('writes to go on through JavaScript', async () => (await counts()).js.writes > closed.js.writes + 100, 20_000);
    const meanwhile = await counts();
    assert.equal(meanwhile.native!.writes, closed.native!.writes, 'no write served natively behind the closed gate');
    assert.ok(meanwhile.native!.reads > closed.native!.reads, 'reads still served natively');

    await server.call('gates', { read: false, write: false });
    assert.equal(await server.call('drain', { which: 'all', timeoutMs: 10_000 }), true, 'everything drains');
    const shut = await counts();
    assert.equal(shut.native!.inFlightReads + shut.native!.inFlightWrites, 0);
    await waitFor('reads to go on through JavaScript', async () => (await counts()).js.reads > shut.js.reads + 30, 20_000);
    const after = await counts();
    assert.equal(after.native!.reads, shut.native!.reads, 'no read served natively behind the closed gate');
    assert.equal(after.native!.writes, shut.native!.writes);

    await server.call('gates', { read: true, write: true });
    // The new epoch's clusters come back as the writers touch them (first touches, then rewrites).
    await waitFor('native writes again', async () => (await counts()).native!.writes > after.native!.writes + 100, 20_000);
  }
  for (const l of loops) assert.equal(l.exitCode, null, 'the writers never saw an error');
  const end = await counts();
  t.diagnostic(`native ${end.native!.reads} reads, ${end.native!.writes} writes; forwarded ${JSON.stringify(end.native!.forwarded)}; javascript ${end.js.reads} reads, ${end.js.writes} writes (${end.js.firstTouches} first touches)`);
});

/**
 * The image on a small FUSE file system of the test's own (backing-helper.js): SIGSTOP stalls it,
 * SIGKILL makes its clients get ENOTCONN.
 */
async function startBacking(h: Harness, size: number): Promise<{ backing: ChildProcess; image: string }> {
  const source = join(h.dir, 'source.img');
  await writeFile(source, Buffer.alloc(0));
  await h.runOk('truncate', ['-s', String(size), source]);
  const dir = join(h.dir, 'backing');
  mkdirSync(dir);
  const backing = spawn(process.execPath, [BACKING_HELPER, source, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  h.onCleanup(async () => {
    if (backing.exitCode === null && backing.signalCode === null) {
      backing.kill('SIGCONT');
      backing.kill('SIGKILL');
    }
    await waitFor('the backing mount to go', () => !mountedAt(dir), 5_000).catch(() => h.run('fusermount', ['-uz', '--', dir]));
  });
  let out = '';
  backing.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  await waitFor('the backing helper to mount', () => out.includes('ready'), 10_000);
  return { backing, image: join(dir, 'disk.img') };
}

test('an image I/O error in native code: the whole request goes to JavaScript, which answers it', { skip, timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  const size = 8 * MiB;
  const { backing, image } = await startBacking(h, size);
  const server = await startServer(h, { size, image });
  await server.call('recordAll');
  assert.deepEqual(await runIo(h, [{ kind: 'write', offset: CS, length: 4096, seed: 9 }, { kind: 'read', offset: CS, length: 4096 }]), [{ n: 4096 }, { n: 4096, sha256: sha(seededBytes(9, 4096)) }]);
  const before = await server.counts();
  assert.equal(before.native!.writes, 1);
  backing.kill('SIGKILL'); // the device is gone: the image's calls fail (ENOTCONN)
  await waitFor('the backing mount to go', () => !mountedAt(join(h.dir, 'backing')), 5_000).catch(() => {});
  const results = await runIo(h, [{ kind: 'write', offset: 2 * CS, length: 4096, seed: 10 }, { kind: 'read', offset: 3 * CS, length: 4096 }]);
  assert.deepEqual(results, [{ error: 'EIO' }, { error: 'EIO' }], 'JavaScript answered both with its own errno');
  const after = await server.counts();
  assert.equal(after.native!.forwarded.io - before.native!.forwarded.io, 2, 'both were forwarded as I/O errors');
  assert.equal(after.js.writes - before.js.writes, 1);
  assert.equal(after.js.reads - before.js.reads, 1);
  assert.equal(after.native!.writes, before.native!.writes);
});

test('a native call stuck on a stalled device: drain is bounded, detach refused, the event loop answers; it completes when the device does', { skip, timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  const size = 8 * MiB;
  const { backing, image } = await startBacking(h, size);
  const server = await startServer(h, { size, image });
  await server.call('recordAll');
  const loop = h.spawnChild([NATIVE_IO, h.volume, '--loop', '3', '1']); // writes only: the stuck call is a write
  await waitFor('native writes', async () => (await server.counts()).native!.writes > 50, 20_000);

  process.kill(backing.pid!, 'SIGSTOP');
  h.beforeUnmount(() => { try { process.kill(backing.pid!, 'SIGCONT'); } catch { /* gone */ } });
  await waitFor('a native write stuck in flight', async () => (await server.counts()).native!.inFlightWrites > 0, 10_000);
  await server.call('gates', { read: false, write: false });
  assert.equal(await server.call('drain', { which: 'all', timeoutMs: 500 }), false, 'the drain gives up at its bound');
  await assert.rejects(server.call('detach'), /EBUSY/, 'detach refused while a native call is stuck');
  await assert.rejects(server.call('clearRecorded'), /EBUSY/);
  const stuck = await server.counts(); // the event loop still answers
  assert.ok(stuck.native!.inFlightWrites >= 1);
  const completed = stuck.native!.completed;
  await sleep(200);
  assert.equal((await server.counts()).native!.completed, completed, 'nothing completes while the device is stopped');

  process.kill(backing.pid!, 'SIGCONT');
  assert.equal(await server.call('drain', { which: 'all', timeoutMs: 10_000 }), true, 'drains once the device answers');
  assert.equal(await server.call('detach'), null);
  loop.kill('SIGKILL');
});

test('the stream follower: the journal marks ahead exactly as when JavaScript sees every write', { skip, timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  const size = 40 * MiB;
  await h.createImage(size);
  // [0, 16 MiB) recorded first; then one sequential stream of 128 KiB requests from 8 to 24 MiB:
  // rewrites (served natively) that run into fresh space (first touches, JavaScript's).
  const run = async (variant: { fastPath: boolean; follower?: 'native' | 'js' }) => {
    const journal = join(h.dir, `journal-${variant.fastPath ? variant.follower : 'js-only'}`);
    const server = await startServer(h, { size, tracker: 'journal', journal, markAhead: 8 * MiB, ...variant });
    await server.call('recordRange', { first: 0, last: 16 * MiB / CS - 1 });
    const r = await h.dd([`if=/dev/zero`, `of=${h.volume}`, 'bs=128k', `seek=${(8 * MiB) / (128 * KiB)}`, `count=${(16 * MiB) / (128 * KiB)}`, 'oflag=direct', 'conv=notrunc']);
    assert.equal(r.code, 0, r.stderr);
    const marked = await server.call<number[]>('marked');
    const recorded = await server.call<number[]>('recorded');
    const counts = await server.counts();
    await server.call('unmount').catch(() => {});
    await waitFor('the server to unmount', () => !mountedAt(h.mnt), 10_000);
    return { marked, recorded, counts };
  };
  const jsOnly = await run({ fastPath: false });
  const shared = await run({ fastPath: true, follower: 'native' });
  const separate = await run({ fastPath: true, follower: 'js' });
  const n = shared.counts.native!;
  t.diagnostic(`javascript only: ${jsOnly.counts.js.writes} writes in JavaScript, ${jsOnly.counts.js.firstTouches} waited; highest marked ${Math.max(...jsOnly.marked)}`);
  t.diagnostic(`native, shared follower: ${n.writes} served natively, forwarded ${JSON.stringify(n.forwarded)}, ${shared.counts.js.firstTouches} waited; highest marked ${Math.max(...shared.marked)}`);
  t.diagnostic(`native, JavaScript's own follower: ${separate.counts.native!.writes} served natively, ${separate.counts.js.firstTouches} waited; highest marked ${Math.max(...separate.marked)}`);
  for (let c = 8 * MiB / CS; c < 24 * MiB / CS; c++) assert.ok(shared.recorded.includes(c), `written cluster ${c} recorded`);
  // Served natively: at least the first 4 MiB of the stream (before it is long enough to follow).
  assert.ok(n.writes >= (4 * MiB) / (128 * KiB), `native writes ${n.writes}`);
  assert.deepEqual(shared.marked, jsOnly.marked, 'with the shared follower the journal marks what it marks when it sees every write');
  // And the check can fail: a follower that does not see the native writes marks less.
  assert.notDeepEqual(separate.marked, jsOnly.marked, 'a follower blind to native writes marks differently');
});
