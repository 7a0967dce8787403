/**
 * Shared machinery of the end-to-end tests: each test gets a private temp dir (image, journal,
 * mountpoint, runtime dir for control sockets and logs), mounts for real through the CLI, and
 * drives I/O from other processes (dd, child-writer.js). The test process never does blocking I/O
 * on the mount.
 *
 * Cleanup (registered with t.after, so it runs on failure and on timeout too) touches only what
 * this harness created: `trackfs unmount --lazy` with a timeout; SIGTERM, then SIGKILL, to daemon
 * pids it started and that still run with this test's directory on their command line; SIGKILL to
 * its child processes; `fusermount -uz` on its own mountpoint if still in /proc/self/mountinfo;
 * as a last resort, abort of its own FUSE connection when a child is stuck on a dead mount; then
 * rm -rf of the temp dir.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants as fsConstants, existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { callDaemon } from '../../src/control/client.js';
import type { JournalStatus, MountStatus, PlainOp, ReplyOf, RequestOf } from '../../src/control/protocol.js';
import { parseMountinfo } from '../../src/util/mountinfo.js';
import { mountId } from '../../src/util/runtime.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = join(ROOT, 'bin', 'trackfs.js');
export const CHILD_WRITER = fileURLToPath(new URL('./child-writer.js', import.meta.url));

/** A hard limit for every end-to-end test. */
export const TEST_TIMEOUT_MS = 60_000;

export interface RunResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** What `changes --json` prints: the consumer-facing report, one type with the code that makes it. */
export type { Extent, ChangesReport as ChangesJson } from '../../src/journal/changes.js';
import type { Extent, ChangesReport as ChangesJson } from '../../src/journal/changes.js';

/** How `Harness.io` opens the file: O_DIRECT, O_DSYNC, read-only (default read-write). */
export type IoFlag = 'direct' | 'dsync' | 'readonly';

/** The result of `Harness.io`: every step that completed, and the first that failed, if one did. */
export interface IoOutcome {
  /** The errno name of the failure (EIO, ENOSPC, ...), or null when every step succeeded. */
  errno: string | null;
  /** The step that failed ('open' when the open did), or null. */
  failedStep: string | null;
  /** Bytes each completed step moved, in order; for a failed write, what it wrote before failing. */
  bytes: number[];
  stderr: string;
}

/** Why mounting cannot work here, or null when it can. */
export function fuseUnavailable(): string | null {
  if (process.platform !== 'linux') return `end-to-end tests need Linux FUSE (platform is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'end-to-end tests need root (they mount FUSE file systems and use fusermount -uz)';
  if (!existsSync('/dev/fuse')) return '/dev/fuse is missing (no FUSE in this kernel/container)';
  try {
    accessSync('/dev/fuse', fsConstants.R_OK | fsConstants.W_OK);
  } catch {
    return '/dev/fuse is not accessible';
  }
  const fusermount = ['/usr/bin/fusermount', '/bin/fusermount', '/usr/local/bin/fusermount'].some((p) => existsSync(p));
  if (!fusermount) return 'fusermount is not installed (apt-get install fuse)';
  return null;
}

/** The harness for a test, or null after marking the test skipped with the reason. */
export async function e2e(t: TestContext): Promise<Harness | null> {
  const why = fuseUnavailable();
  if (why) {
    t.skip(why);
    return null;
  }
  return Harness.create(t);
}

function run(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; onSpawn?: (c: ChildProcess) => void } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 30_000, killSignal: 'SIGKILL', maxBuffer: 64 << 20, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: unknown; signal?: string | null }) | null;
        resolve({
          code: e ? (typeof e.code === 'number' ? e.code : child.exitCode) : 0,
          signal: e?.signal ?? null,
          stdout: String(stdout),
          stderr: String(stderr) + (e && typeof e.code === 'string' ? `\n[${e.code}] ${e.message}` : ''),
        });
      },
    );
    opts.onSpawn?.(child);
  });
}

/** `p`, or a rejection after `ms` (the timer never outlives the race). */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms); });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/** Resolves when `p` settles or after `ms`, whichever comes first. */
export async function settleWithin(p: Promise<unknown>, ms: number): Promise<void> {
  await withTimeout(p, ms, '').catch(() => {});
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Alive and not a zombie (init does not reap here, so kill(pid, 0) alone is not enough). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

function mountinfoEntry(mountpoint: string): { majorMinor: string; fsType: string } | null {
  // The last entry for a path is the one on top.
  return parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).filter((m) => m.mountPoint === mountpoint).at(-1) ?? null;
}

/** Clusters [first, last] touched by each byte range. */
export function clustersOfRanges(ranges: { offset: number; length: number }[], clusterSize: number): Set<number> {
  const out = new Set<number>();
  for (const r of ranges) {
    if (r.length <= 0) continue;
    const first = Math.floor(r.offset / clusterSize);
    const last = Math.floor((r.offset + r.length - 1) / clusterSize);
    for (let c = first; c <= last; c++) out.add(c);
  }
  return out;
}

/** The sorted, merged extents a set of clusters should be reported as (the last clamped to the image). */
export function extentsOfClusters(clusters: Iterable<number>, clusterSize: number, imageSize: number): Extent[] {
  const sorted = [...new Set(clusters)].sort((a, b) => a - b);
  const out: Extent[] = [];
  let i = 0;
  while (i < sorted.length) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    const offset = sorted[i]! * clusterSize;
    const end = Math.min(imageSize, (sorted[j]! + 1) * clusterSize);
    out.push({ offset, length: end - offset });
    i = j + 1;
  }
  return out;
}

/** The clusters an extent list covers. */
export function clustersOfExtents(extents: Extent[], clusterSize: number): Set<number> {
  return clustersOfRanges(extents, clusterSize);
}

export async function readRange(path: string, offset: number, length: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return buf.subarray(0, done);
  } finally {
    await fh.close();
  }
}

export async function writeRange(path: string, offset: number, data: Buffer): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await fh.write(data, done, data.length - done, offset + done);
      done += bytesWritten;
    }
  } finally {
    await fh.close();
  }
}

export async function sha256File(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

export interface MountOptions {
  /** Another image than the harness's own (e.g. on a loop-mounted file system). */
  image?: string;
  journal?: string;
  clusterSize?: string;
  durability?: 'strict' | 'ordered';
  /** Start the daemon with TRACKFS_TEST_HOOKS=1 (fault injection over the control socket). */
  testHooks?: boolean;
  extra?: string[];
  /** More environment for the mount command and its daemon (TRACKFS_DATA_PATH=javascript, say). */
  env?: Record<string, string>;
}

/** Whoever runs a harness's cleanup when it is done: a node:test context, or the torture runner. */
export interface CleanupScope {
  after(fn: () => void | Promise<void>): void;
}

export class Harness {
  readonly image: string;
  readonly journal: string;
  readonly mnt: string;
  readonly volume: string;
  readonly runtimeDir: string;
  /** TRACKFS_STATE_DIR of every command (created by trackfs when it first needs it). */
  readonly stateDir: string;
  /** Daemon pids this harness started (from status after each mount). */
  private readonly daemons = new Set<number>();
  private readonly children = new Set<ChildProcess>();
  /** FUSE connection numbers of our mounts (device minor), for a last-resort abort. */
  private readonly connections = new Set<string>();
  private closed = false;
  private readonly cleanupHooks: (() => void | Promise<void>)[] = [];
  private readonly preUnmountHooks: (() => void | Promise<void>)[] = [];
  private scratch = 0;

  private constructor(readonly dir: string) {
    this.image = join(dir, 'image.raw');
    this.journal = `${this.image}.trackfs`;
    this.mnt = join(dir, 'mnt');
    this.volume = join(this.mnt, 'volume');
    this.runtimeDir = join(dir, 'run');
    this.stateDir = join(dir, 'state');
  }

  /** `t`: a test's context, or any scope that runs the cleanup it is given (the torture runner's). */
  static async create(t: CleanupScope): Promise<Harness> {
    const dir = realpathSync(await mkdtemp(join(tmpdir(), 'trackfs-e2e-')));
    const h = new Harness(dir);
    mkdirSync(h.mnt);
    mkdirSync(h.runtimeDir, { mode: 0o700 });
    t.after(() => h.cleanup());
    return h;
  }

  /** Runs at cleanup after trackfs is unmounted and before the temp dir is removed. */
  onCleanup(hook: () => void | Promise<void>): void {
    this.cleanupHooks.push(hook);
  }

  /**
   * Runs at cleanup after this harness's children are killed and BEFORE trackfs is unmounted,
   * newest first: for what sits on top of the volume (a file system mounted from a loop device
   * attached to it), which must go first or the volume stays busy.
   */
  beforeUnmount(hook: () => void | Promise<void>): void {
    this.preUnmountHooks.push(hook);
  }

  /** `${TRACKFS_RUNTIME_DIR}/${mountId(realpath(mountpoint))}.sock` (the test process has no TRACKFS_RUNTIME_DIR). */
  get socket(): string {
    return join(this.runtimeDir, `${mountId(this.mnt)}.sock`);
  }

  private check(): void {
    if (this.closed) throw new Error('harness already cleaned up (test timed out?)');
  }

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    // The state directory (durability records) is the test's own too: never the user's real one.
    const env: NodeJS.ProcessEnv = { ...process.env, TRACKFS_RUNTIME_DIR: this.runtimeDir, TRACKFS_STATE_DIR: this.stateDir, ...extra };
    delete env['NODE_TEST_CONTEXT'];
    delete env['TRACKFS_TEST_HOOKS'];
    if (extra['TRACKFS_TEST_HOOKS']) env['TRACKFS_TEST_HOOKS'] = extra['TRACKFS_TEST_HOOKS'];
    return env;
  }

  /** A sparse image of `size` bytes (truncate), optionally with some seeded random content. */
  async createImage(size: number, content: { offset: number; data: Buffer }[] = []): Promise<void> {
    this.check();
    const r = await run('truncate', ['-s', String(size), this.image]);
    if (r.code !== 0) throw new Error(`truncate failed: ${r.stderr}`);
    for (const c of content) await writeRange(this.image, c.offset, c.data);
  }

  /** Runs the CLI with this test's runtime dir. Never throws on a non-zero exit. */
  trackfs(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
    this.check();
    return this.exec(process.execPath, [BIN, ...args], { env: this.env(opts.env), timeoutMs: opts.timeoutMs ?? 30_000 });
  }

  async trackfsOk(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
    const r = await this.trackfs(args, opts);
    if (r.code !== 0) throw new Error(`trackfs ${args.join(' ')} exited ${r.code}${r.signal ? ` (${r.signal})` : ''}: ${r.stderr.trim()}`);
    return r;
  }

  /** Mounts through the CLI (returns once the mount is live) and returns the daemon's pid. */
  async mount(opts: MountOptions = {}): Promise<number> {
    const args = ['mount', opts.image ?? this.image, this.mnt];
    if (opts.journal) args.push('--journal', opts.journal);
    if (opts.clusterSize) args.push('--cluster-size', opts.clusterSize);
    if (opts.durability) args.push('--durability', opts.durability);
    args.push(...(opts.extra ?? []));
    const env: Record<string, string> = { ...opts.env, ...(opts.testHooks ? { TRACKFS_TEST_HOOKS: '1' } : {}) };
    const r = await this.trackfs(args, { env, timeoutMs: 45_000 });
    // Whatever the outcome, remember a daemon that registered itself, so cleanup can reach it.
    this.noteRegisteredDaemon();
    if (r.code !== 0) throw new Error(`trackfs mount exited ${r.code}: ${r.stderr.trim()}`);
    const entry = mountinfoEntry(this.mnt);
    if (!entry) throw new Error(`trackfs mount returned but ${this.mnt} is not in /proc/self/mountinfo`);
    if (entry.fsType !== 'fuse.trackfs') throw new Error(`unexpected fs type ${entry.fsType} at ${this.mnt}`);
    this.connections.add(entry.majorMinor.split(':')[1]!);
    const pid = (await this.status()).pid;
    if (typeof pid !== 'number') throw new Error('status of a mount has no pid');
    this.daemons.add(pid);
    return pid;
  }

  /** A clean (non-lazy) unmount through the CLI; throws when it does not succeed. */
  async unmount(): Promise<void> {
    await this.trackfsOk(['unmount', this.mnt], { timeoutMs: 45_000 });
    if (this.mounted()) throw new Error(`${this.mnt} is still mounted after trackfs unmount`);
  }

  mounted(): boolean {
    return mountinfoEntry(this.mnt) !== null;
  }

  async changes(target: string = this.mnt): Promise<ChangesJson> {
    const r = await this.trackfsOk(['changes', target, '--json']);
    return JSON.parse(r.stdout) as ChangesJson;
  }

  /** `status --json` of the mount, or of a journal file read offline. */
  status(): Promise<MountStatus>;
  status(journal: string): Promise<JournalStatus>;
  async status(journal?: string): Promise<MountStatus | JournalStatus> {
    const r = await this.trackfsOk(['status', journal ?? this.mnt, '--json']);
    const s = JSON.parse(r.stdout) as MountStatus | JournalStatus;
    const expected = journal === undefined ? 'mount' : 'journal';
    if (s.source !== expected) throw new Error(`status of ${journal ?? this.mnt} is of a ${s.source}, expected a ${expected}`);
    return s;
  }

  /** Sends a control request straight to the daemon's socket. */
  control<K extends PlainOp>(req: RequestOf<K>, timeoutMs?: number): Promise<ReplyOf<K>> {
    this.check();
    return callDaemon(this.socket, req, timeoutMs);
  }

  injectJournalFault(io: 'write' | 'datasync' | 'none', code = 'EIO'): Promise<unknown> {
    return this.control({ op: 'inject-fault', io, code });
  }

  dd(args: string[], timeoutMs = 30_000): Promise<RunResult> {
    this.check();
    return this.exec('dd', [...args, 'status=none'], { env: this.env(), timeoutMs });
  }

  /**
   * Writes `data` at byte `offset` of `path` (default: the mounted volume) with dd, conv=notrunc.
   * `direct` adds oflag=direct; `oflags`/`convs` add more (dsync; fsync).
   */
  async ddWrite(
    offset: number,
    data: Buffer,
    opts: { path?: string; direct?: boolean; oflags?: string[]; convs?: string[]; bs?: number } = {},
  ): Promise<RunResult> {
    this.check();
    const src = join(this.dir, `dd-src-${this.scratch++}`);
    await writeFile(src, data);
    const oflags = ['seek_bytes', ...(opts.direct ? ['direct'] : []), ...(opts.oflags ?? [])];
    const bs = opts.bs ?? data.length;
    try {
      return await this.dd([
        `if=${src}`,
        `of=${opts.path ?? this.volume}`,
        `bs=${bs}`,
        `count=${Math.ceil(data.length / bs)}`,
        `seek=${offset}`,
        'iflag=fullblock',
        `oflag=${oflags.join(',')}`,
        `conv=${['notrunc', ...(opts.convs ?? [])].join(',')}`,
      ]);
    } finally {
      await rm(src, { force: true });
    }
  }

  async ddWriteOk(offset: number, data: Buffer, opts: Parameters<Harness['ddWrite']>[2] = {}): Promise<void> {
    const r = await this.ddWrite(offset, data, opts);
    if (r.code !== 0) throw new Error(`dd write of ${data.length} bytes at ${offset} failed (exit ${r.code}): ${r.stderr.trim()}`);
  }

  /**
   * Runs I/O steps on `path` (default: the volume) in a child process (child-writer.js io) and
   * reports the errno name of the first that failed: tests compare codes, never strerror text.
   * Steps: `write:OFFSET:LENGTH:SEED` (data = seededBytes(SEED, LENGTH)), `read:OFFSET:LENGTH`,
   * `fsync`, `fdatasync`. Flags of the open: direct (O_DIRECT), dsync (O_DSYNC), readonly.
   */
  async io(steps: string[], opts: { path?: string; flags?: IoFlag[]; timeoutMs?: number } = {}): Promise<IoOutcome> {
    const flags = opts.flags?.length ? opts.flags.join(',') : '-';
    const args = [CHILD_WRITER, 'io', opts.path ?? this.volume, flags, ...steps];
    const r = await this.exec(process.execPath, args, { env: this.env(), timeoutMs: opts.timeoutMs ?? 30_000 });
    const out: IoOutcome = { errno: null, failedStep: null, bytes: [], stderr: r.stderr };
    for (const line of r.stdout.split('\n')) {
      const ok = /^ok \S+ (\d+)$/.exec(line);
      if (ok) out.bytes.push(Number(ok[1]));
      const bad = /^error (\S+) (\S+) (\d+)$/.exec(line);
      if (bad) {
        out.failedStep = bad[1]!;
        out.errno = bad[2]!;
        out.bytes.push(Number(bad[3]));
      }
    }
    const consistent = out.errno === null ? r.code === 0 && out.bytes.length === steps.length : r.code === 2;
    if (!consistent) {
      const how = `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}, output ${JSON.stringify(r.stdout)}`;
      throw new Error(`child-writer io ${steps.join(' ')}: ${how}: ${r.stderr.trim()}`);
    }
    return out;
  }

  /** The same, throwing unless every step succeeded. */
  async ioOk(steps: string[], opts: Parameters<Harness['io']>[1] = {}): Promise<void> {
    const r = await this.io(steps, opts);
    if (r.errno !== null) throw new Error(`${r.failedStep} on ${opts.path ?? this.volume} failed with ${r.errno}`);
  }

  /** Reads the whole volume through the mount with dd, discarding the data. */
  async ddReadAll(opts: { direct?: boolean; bs?: string } = {}): Promise<void> {
    const r = await this.dd([`if=${this.volume}`, 'of=/dev/null', `bs=${opts.bs ?? '1M'}`, ...(opts.direct ? ['iflag=direct'] : [])]);
    if (r.code !== 0) throw new Error(`dd read failed (exit ${r.code}): ${r.stderr.trim()}`);
  }

  /** Reads a range of the volume through the mount with dd (a child process). */
  async ddReadRange(offset: number, length: number): Promise<Buffer> {
    const out = join(this.dir, `dd-out-${this.scratch++}`);
    try {
      const r = await this.dd([
        `if=${this.volume}`,
        `of=${out}`,
        `bs=${length}`,
        'count=1',
        `skip=${offset}`,
        'iflag=skip_bytes,fullblock',
      ]);
      if (r.code !== 0) throw new Error(`dd read failed (exit ${r.code}): ${r.stderr.trim()}`);
      return await readFile(out);
    } finally {
      await rm(out, { force: true });
    }
  }

  /** Runs a command as a child this harness owns (killed at cleanup if still running). */
  private exec(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<RunResult> {
    return run(cmd, args, { ...opts, onSpawn: (c) => this.track(c) });
  }

  private track(child: ChildProcess): void {
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    child.on('error', () => this.children.delete(child));
  }

  /** Starts a process this harness owns (killed at cleanup if still running). */
  spawnChild(args: string[], env: Record<string, string> = {}): ChildProcess {
    this.check();
    const child = spawn(process.execPath, args, { env: this.env(env), stdio: ['pipe', 'pipe', 'pipe'] });
    this.track(child);
    return child;
  }

  /** Runs any command as a child this harness owns (killed at cleanup if still running). Never throws on a non-zero exit. */
  run(cmd: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
    this.check();
    return this.exec(cmd, args, { env: this.env(), timeoutMs: opts.timeoutMs ?? 30_000 });
  }

  /** The same, throwing (with its stderr) on a non-zero exit. */
  async runOk(cmd: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
    const r = await this.run(cmd, args, opts);
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}${r.signal ? ` (${r.signal})` : ''}: ${r.stderr.trim()}`);
    return r;
  }

  /** SHA-256 of a file, read by a child process (sha256sum), so the mount is never read by the test process. */
  async sha256(path: string): Promise<string> {
    const r = await this.runOk('sha256sum', ['--', path], { timeoutMs: 60_000 });
    return r.stdout.trim().split(/\s+/)[0]!;
  }

  /** Runs child-writer.js to completion; returns its output. */
  async runChildWriter(args: string[], timeoutMs = 30_000): Promise<RunResult> {
    this.check();
    return this.exec(process.execPath, [CHILD_WRITER, ...args], { env: this.env(), timeoutMs });
  }

  /** Writes a scratch file in the test dir. */
  async scratchFile(name: string, content: string | Buffer): Promise<string> {
    const p = join(this.dir, name);
    await writeFile(p, content);
    return p;
  }

  /** Waits for the mount to leave the mount table (auto_unmount after a daemon crash); else fusermount -uz. */
  async waitMountGone(timeoutMs = 10_000): Promise<'auto' | 'forced'> {
    try {
      await waitFor(`${this.mnt} to leave /proc/self/mountinfo`, () => !this.mounted(), timeoutMs);
      return 'auto';
    } catch {
      await run('fusermount', ['-uz', '--', this.mnt], { timeoutMs: 10_000 });
      await waitFor(`${this.mnt} to be unmounted by fusermount -uz`, () => !this.mounted(), 5_000);
      return 'forced';
    }
  }

  /** Adds the pid a daemon registered in our runtime dir (it may have come up behind our back). */
  private noteRegisteredDaemon(): void {
    try {
      const info = join(this.runtimeDir, `${mountId(this.mnt)}.json`);
      const pid = (JSON.parse(readFileSync(info, 'utf8')) as { pid: number }).pid;
      if (pid) this.daemons.add(pid);
    } catch {
      // Not registered (no mount, or it failed early).
    }
  }

  /**
   * Our own daemon: alive, a trackfs daemon, and started with this test's runtime directory (its
   * environment; the command line carries no paths).
   */
  private ourDaemon(pid: number): boolean {
    if (!alive(pid)) return false;
    try {
      return (
        readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('__daemon') &&
        readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`TRACKFS_RUNTIME_DIR=${this.runtimeDir}`)
      );
    } catch {
      return false;
    }
  }

  async waitDaemonGone(pid: number, timeoutMs = 10_000): Promise<void> {
    await waitFor(`daemon ${pid} to exit`, () => !alive(pid), timeoutMs);
  }

  /** SIGKILL to a daemon this harness started. */
  killDaemon(pid: number): void {
    if (!this.daemons.has(pid)) throw new Error(`pid ${pid} is not a daemon this test started`);
    if (this.ourDaemon(pid)) process.kill(pid, 'SIGKILL');
  }

  /**
   * Aborts our own FUSE connections. Called only while one of our children is still stuck in I/O
   * on our mount: its open file pins our superblock, so the connection number (the device minor
   * recorded at mount time) cannot have been reused by anyone else's mount.
   */
  private async abortConnections(): Promise<void> {
    for (const n of this.connections) {
      const abort = `/sys/fs/fuse/connections/${n}/abort`;
      if (existsSync(abort)) await writeFile(abort, '1').catch(() => {});
    }
  }

  async cleanup(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const problems: string[] = [];
    // 1. Our writers first: nothing of ours should hold the volume open.
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    // 1b. What sits on top of the volume (a file system on a loop device over it), newest first.
    for (const hook of this.preUnmountHooks.reverse()) {
      try {
        await hook();
      } catch (e) {
        problems.push(`pre-unmount cleanup hook: ${(e as Error).message}`);
      }
    }
    // 2. A lazy unmount through the CLI, bounded.
    this.noteRegisteredDaemon();
    const live = [...this.daemons].some((p) => this.ourDaemon(p));
    if (live || this.mounted()) {
      const r = await run(process.execPath, [BIN, 'unmount', '--lazy', '--timeout', '10', this.mnt], {
        env: this.env(),
        timeoutMs: 20_000,
      });
      if (r.code !== 0 && live) problems.push(`trackfs unmount --lazy: exit ${r.code}: ${r.stderr.trim()}`);
    }
    // 3. Daemons we started that survived: SIGTERM, wait, SIGKILL.
    this.noteRegisteredDaemon();
    for (const pid of this.daemons) {
      if (!this.ourDaemon(pid)) continue;
      problems.push(`daemon ${pid} still running after unmount --lazy`);
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* gone */
      }
      try {
        await waitFor(`daemon ${pid} to exit after SIGTERM`, () => !alive(pid), 5_000);
      } catch {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
        await waitFor(`daemon ${pid} to exit after SIGKILL`, () => !alive(pid), 5_000).catch(() => {});
      }
    }
    // 4. Children stuck on a dead mount: abort our own FUSE connection.
    if ([...this.children].some((c) => c.exitCode === null && c.signalCode === null)) {
      await sleep(500);
      if ([...this.children].some((c) => c.exitCode === null && c.signalCode === null)) {
        if (mountinfoEntry('/sys/fs/fuse/connections') === null) {
          await run('mount', ['-t', 'fusectl', 'fusectl', '/sys/fs/fuse/connections'], { timeoutMs: 5_000 });
        }
        await this.abortConnections();
        problems.push('a child process was stuck on the mount; aborted the FUSE connection');
        await waitFor(
          'stuck children to exit',
          () => [...this.children].every((c) => c.exitCode !== null || c.signalCode !== null),
          5_000,
        ).catch(() => {});
      }
    }
    // 5. Our own mountpoint, if it is still mounted.
    if (this.mounted()) {
      await run('fusermount', ['-uz', '--', this.mnt], { timeoutMs: 10_000 });
      if (this.mounted()) await run('umount', ['-l', this.mnt], { timeoutMs: 10_000 });
    }
    // 6. What the test set up around the mount (file systems, loop devices, helpers), newest first.
    for (const hook of this.cleanupHooks.reverse()) {
      try {
        await hook();
      } catch (e) {
        problems.push(`cleanup hook: ${(e as Error).message}`);
      }
    }
    // 7. The temp dir, unless something is still mounted inside it.
    if (!this.mounted())
      await rm(this.dir, { recursive: true, force: true }).catch((e: Error) => problems.push(`rm -rf ${this.dir}: ${e.message}`));
    else problems.push(`${this.mnt} is still mounted; left ${this.dir} in place`);
    if (problems.length > 0) process.stderr.write(`# e2e cleanup of ${this.dir}: ${problems.join('; ')}\n`);
  }
}
