/**
 * A FUSE server for the native data path's standalone proof (native-module.test.ts) and its
 * benchmark (bench/native-proto.ts): fuse-native with a minimal ops table that exposes IMAGE as
 * MOUNTPOINT/volume, plus, with `fastPath`, the native module stacked above it. No trackfs daemon.
 *
 * What stands in for the journal (`tracker`):
 *   'set'      a recorded-set in JavaScript: a first touch marks its clusters, "commits" them after
 *              commitDelayMs, then sets them recorded and only then mirrors the pages to the
 *              native side (the order the write-ahead rule demands); no stream follower.
 *   'journal'  trackfs's own Journal (strict, a real file) and ChangeTracker with mark-ahead; every
 *              successful commit's pages are mirrored to the native side. With follower 'native'
 *              the tracker follows streams through the shared native follower (fp.follow), as the
 *              integration will wire it; with 'js' it keeps its own (it then sees only the writes
 *              the native side forwards).
 *   'none'     no tracking (the plain fuse-native passthrough of the benchmark).
 *
 * Run with child_process.fork (IPC): argv[2] is the JSON of ServerConfig. It sends {ready: true}
 * once mounted, then answers requests {id, cmd, ...} with {id, ok, value | error}. The serving
 * process never touches the mount itself.
 */
import { close, fdatasync, open, read, write, constants as fsConstants } from 'node:fs';
import { promisify } from 'node:util';
import { mountFuse, type FuseHandle } from '../../src/fuse/mount.js';
import { createFastPath, fastPathStatus, libfuseMismatch, type FastPath, type FastPathBinding } from '../../src/native/fastpath.js';
import { Journal } from '../../src/journal/journal.js';
import { FileJournalIo } from '../../src/journal/journal-io.js';
import { CLUSTERS_PER_PAGE, PAGE_BITMAP_BYTES, PAGE_HEADER_SIZE } from '../../src/journal/format.js';
import { ChangeTracker, MARK_AHEAD_AFTER } from '../../src/tracker/tracker.js';
import type { PageSnapshot } from '../../src/journal/page-cache.js';

export interface ServerConfig {
  image: string;
  mountpoint: string;
  size: number;
  clusterSize: number;
  fastPath: boolean;
  tracker: 'set' | 'journal' | 'none';
  /** tracker 'set': how long a first touch's "commit" takes. */
  commitDelayMs?: number;
  /** tracker 'journal': the journal file (created), mark-ahead bytes, whose follower. */
  journal?: string;
  markAhead?: number;
  follower?: 'native' | 'js';
  readOnly?: boolean;
  /** More -o options (e.g. kernel_cache). */
  extraOptions?: string[];
  /** Open both gates once mounted. */
  openGates?: boolean;
}

type Cb = (result: number, ...rest: unknown[]) => void;
const VOLUME = '/volume';
const E = (name: string) =>
  -(
    ({ ENOENT: 2, EIO: 5, EBADF: 9, EACCES: 13, EISDIR: 21, EINVAL: 22, ENOSPC: 28, EROFS: 30, EPERM: 1 } as Record<string, number>)[
      name
    ] ?? 5
  );

const cfg = JSON.parse(process.argv[2] ?? '{}') as ServerConfig;
const send = (m: unknown) => process.send?.(m);

/** JavaScript's own counts: what reached this process. */
const js = { reads: 0, writes: 0, firstTouches: 0, readBytes: 0, writtenBytes: 0 };

interface Tracker {
  /** null: the write may go now; else wait (a rejection fails the write). */
  beforeWrite(offset: number, length: number): Promise<void> | null;
  recordedClusters(): number[];
  /** Clusters marked (recorded, or asked for and not yet committed); the recorded ones for 'set'. */
  markedClusters(): number[];
  recordAll(): Promise<void>;
  recordRange(first: number, last: number): Promise<void>;
  /** A new epoch (the caller closed the write gate and drained it). */
  startEpoch(): Promise<void>;
}

/** tracker 'set': recorded bits in the journal's page geometry, mirrored after each "commit". */
function setTracker(fp: FastPath | null, clusterCount: number, delayMs: number): Tracker {
  let recorded = new Map<number, Uint8Array>();
  const test = (c: number) => ((recorded.get(Math.floor(c / CLUSTERS_PER_PAGE))?.[(c % CLUSTERS_PER_PAGE) >> 3] ?? 0) >> (c & 7)) & 1;
  const commit = (first: number, last: number): void => {
    const touched = new Set<number>();
    for (let c = first; c <= last; c++) {
      const p = Math.floor(c / CLUSTERS_PER_PAGE);
      let page = recorded.get(p);
      if (!page) recorded.set(p, (page = new Uint8Array(PAGE_BITMAP_BYTES)));
      const bit = c % CLUSTERS_PER_PAGE;
      page[bit >> 3]! |= 1 << (bit & 7);
      touched.add(p);
    }
    // Only now, after the "commit", may the native side see the bits.
    for (const p of touched) fp?.orRecordedPage(p, recorded.get(p)!);
  };
  return {
    beforeWrite(offset, length) {
      const first = Math.floor(offset / cfg.clusterSize);
      const last = Math.floor((offset + length - 1) / cfg.clusterSize);
      let all = true;
      for (let c = first; c <= last && all; c++) all = test(c) === 1;
      if (all) return null;
      js.firstTouches++;
      return new Promise((resolve) => setTimeout(() => { commit(first, last); resolve(); }, delayMs));
    },
    recordedClusters() {
      const out: number[] = [];
      for (let c = 0; c < clusterCount; c++) if (test(c)) out.push(c);
      return out;
    },
    markedClusters() {
      return this.recordedClusters();
    },
    async recordAll() {
      commit(0, clusterCount - 1);
    },
    async recordRange(first, last) {
      commit(first, last);
    },
    async startEpoch() {
      recorded = new Map();
      fp?.clearRecorded();
    },
  };
}

/** tracker 'journal': trackfs's Journal and ChangeTracker, mirrored into the native side. */
async function journalTracker(fp: FastPath | null): Promise<Tracker & { journal: Journal }> {
  const io = await FileJournalIo.open(cfg.journal!, { create: true });
  const journal = await Journal.create(io, { imageSize: cfg.size, clusterSize: cfg.clusterSize, imagePath: cfg.image });
  await journal.activate({ durability: 'strict', bootId: 'native-proof', pid: process.pid, imagePath: cfg.image });
  if (fp) {
    // The integration hook, done here from outside: after a commit succeeded, exactly the bits it
    // wrote go to the native side (PageCache.commitSucceeded is where `recorded` changes).
    const cache = journal.cache;
    const original = cache.commitSucceeded.bind(cache);
    cache.commitSucceeded = (snaps: readonly PageSnapshot[]) => {
      original(snaps);
      for (const s of snaps) fp.orRecordedPage(s.index, s.bytes.subarray(PAGE_HEADER_SIZE));
    };
  }
  const tracker = new ChangeTracker(journal, cfg.markAhead ?? 0);
  if (fp && cfg.follower === 'native') {
    // ChangeTracker.follow, replaced by the follower the native side shares.
    (tracker as unknown as { follow: (o: number, l: number) => number }).follow = (o, l) => fp.follow(o, l);
  }
  return {
    journal,
    beforeWrite(offset, length) {
      const wait = tracker.beforeWrite(offset, length);
      if (wait) js.firstTouches++;
      return wait;
    },
    recordedClusters() {
      const out: number[] = [];
      for (const r of journal.cache.recorded.runs()) for (let c = r.start; c < r.start + r.count; c++) out.push(c);
      return out;
    },
    markedClusters() {
      const out: number[] = [];
      for (const r of journal.cache.marked.runs()) for (let c = r.start; c < r.start + r.count; c++) out.push(c);
      return out;
    },
    async recordAll() {
      const last = Math.ceil(cfg.size / cfg.clusterSize) - 1;
      await journal.record(0, last);
    },
    async recordRange(first, last) {
      await journal.record(first, last);
    },
    async startEpoch() {
      await journal.checkpoint();
      fp?.clearRecorded();
    },
  };
}

const noTracker: Tracker = {
  beforeWrite: () => null,
  recordedClusters: () => [],
  markedClusters: () => [],
  recordAll: async () => {},
  recordRange: async () => {},
  startEpoch: async () => {},
};

async function main(): Promise<void> {
  const fd = await promisify(open)(cfg.image, cfg.readOnly ? fsConstants.O_RDONLY : fsConstants.O_RDWR);
  const binding: FastPathBinding = {
    fd,
    size: cfg.size,
    clusterSize: cfg.clusterSize,
    readOnly: cfg.readOnly ?? false,
    path: VOLUME,
    markAhead: { bytes: cfg.markAhead ?? 0, after: MARK_AHEAD_AFTER },
  };
  let fp: FastPath | null = null;
  if (cfg.fastPath) {
    fp = createFastPath();
    if (!fp) throw new Error(`no native data path: ${fastPathStatus().reason}`);
    fp.attach(binding);
  }
  const clusterCount = Math.ceil(cfg.size / cfg.clusterSize);
  const tracker = cfg.tracker === 'set' ? setTracker(fp, clusterCount, cfg.commitDelayMs ?? 0) : cfg.tracker === 'journal' ? await journalTracker(fp) : noTracker;

  const mountedAt = new Date();
  // The volume's mtime: the last write through either side, or a `touch` (what resume would do).
  let modifiedMs = Date.now();
  const stat = () => {
    const mtime = new Date(Math.max(modifiedMs, fp?.counters().lastWriteAtMs ?? 0));
    return {
      mode: fsConstants.S_IFREG | (cfg.readOnly ? 0o444 : 0o644),
      uid: 0,
      gid: 0,
      size: cfg.size,
      nlink: 1,
      blksize: 4096,
      blocks: Math.ceil(cfg.size / 512),
      atime: mtime,
      mtime,
      ctime: mtime,
    };
  };
  const mtime = mountedAt;
  const ops = {
    init: (cb: Cb) => cb(0),
    getattr: (path: string, cb: Cb) => {
      if (path === '/') return cb(0, { mode: fsConstants.S_IFDIR | 0o755, uid: 0, gid: 0, size: 4096, nlink: 2, atime: mtime, mtime, ctime: mtime });
      if (path === VOLUME) return cb(0, stat());
      cb(E('ENOENT'));
    },
    readdir: (path: string, cb: Cb) => (path === '/' ? cb(0, ['volume'], [stat()]) : cb(E('ENOENT'))),
    open: (path: string, _flags: number, cb: Cb) => cb(path === VOLUME ? 0 : E('ENOENT'), 0),
    release: (_p: string, _fd: number, cb: Cb) => cb(0),
    flush: (_p: string, _fd: number, cb: Cb) => cb(0),
    fsync: (_p: string, _d: number, _fd: number, cb: Cb) => fdatasync(fd, (e) => cb(e ? E('EIO') : 0)),
    truncate: (_p: string, size: number, cb: Cb) => cb(size === cfg.size ? 0 : E('EINVAL')),
    ftruncate: (_p: string, _fd: number, size: number, cb: Cb) => cb(size === cfg.size ? 0 : E('EINVAL')),
    read: (_p: string, _fd: number, buf: Buffer, len: number, pos: number, cb: Cb) => {
      js.reads++;
      if (pos >= cfg.size) return cb(0);
      const n = Math.min(len, cfg.size - pos, buf.length);
      const mine = Buffer.allocUnsafe(n);
      read(fd, mine, 0, n, pos, (e, got) => {
        if (e) return cb(E('EIO'));
        mine.copy(buf, 0, 0, got);
        js.readBytes += got;
        cb(got);
      });
    },
    write: (_p: string, _fd: number, buf: Buffer, len: number, pos: number, cb: Cb) => {
      js.writes++;
      if (cfg.readOnly) return cb(E('EROFS'));
      if (pos >= cfg.size) return cb(E('ENOSPC'));
      const n = Math.min(len, buf.length, cfg.size - pos);
      const data = Buffer.from(buf.subarray(0, n)); // FUSE's buffer dies with the callback
      const go = () => write(fd, data, 0, n, pos, (e, put) => {
        if (e) return cb(E('EIO'));
        js.writtenBytes += put;
        modifiedMs = Date.now();
        cb(put);
      });
      const wait = tracker.beforeWrite(pos, n);
      if (!wait) return go();
      wait.then(go, () => cb(E('EIO')));
    },
  };

  if (fp) {
    const mismatch = libfuseMismatch();
    // fuse-native is loaded by mountFuse; by then there must be one libfuse. Checked after the mount
    // too (the mount would have failed loudly).
    if (mismatch && mismatch !== 'no libfuse loaded') throw new Error(mismatch);
  }
  const handle: FuseHandle = await mountFuse(ops, {
    mountpoint: cfg.mountpoint,
    id: `native-proof-${process.pid}`,
    allowOther: false,
    readOnly: cfg.readOnly ?? false,
    extraOptions: [...(fp?.mountOptions ?? []), ...(cfg.extraOptions ?? [])],
  });
  if (fp && libfuseMismatch()) throw new Error(`after mount: ${libfuseMismatch()}`);
  if (fp && cfg.openGates) fp.setGates({ read: true, write: true });

  const commands: Record<string, (m: Record<string, unknown>) => unknown> = {
    gates: (m) => fp!.setGates({ read: Boolean(m['read']), write: Boolean(m['write']) }),
    drain: (m) => fp!.drain(m['which'] as 'writes' | 'all', Number(m['timeoutMs'])),
    counters: () => ({ native: fp?.counters() ?? null, js: { ...js } }),
    recorded: () => tracker.recordedClusters(),
    marked: () => tracker.markedClusters(),
    recordAll: () => tracker.recordAll(),
    recordRange: (m) => tracker.recordRange(Number(m['first']), Number(m['last'])),
    startEpoch: () => tracker.startEpoch(),
    detach: () => fp!.detach(),
    clearRecorded: () => fp!.clearRecorded(),
    attach: () => fp!.attach(binding),
    follow: (m) => fp!.follow(Number(m['offset']), Number(m['length'])),
    touch: () => {
      modifiedMs = Date.now();
    },
    unmount: async () => {
      fp?.setGates({ read: false, write: false });
      const r = await handle.unmount(false, 10_000);
      setTimeout(() => {
        fp?.dispose();
        close(fd, () => process.exit(0));
      }, 50);
      return r;
    },
  };
  process.on('message', (m: Record<string, unknown>) => {
    const run = commands[String(m['cmd'])];
    Promise.resolve()
      .then(() => (run ? run(m) : Promise.reject(new Error(`unknown command ${String(m['cmd'])}`))))
      .then(
        (value) => send({ id: m['id'], ok: true, value: value ?? null }),
        (e: Error & { code?: string }) => send({ id: m['id'], ok: false, error: `${e.code ?? 'Error'}: ${e.message}` }),
      );
  });
  send({ ready: true });
}

main().catch((e: Error) => {
  send({ ready: false, error: e.message });
  process.stderr.write(`native-server: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
