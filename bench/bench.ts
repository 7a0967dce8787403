/**
 * `npm run bench [-- options]`: what tracking costs, side by side with the peers a user would pick
 * instead, measured in one run.
 *
 *   --quick            256 MiB image, 3 s random jobs, 50 000 writes in the 16 TiB test (smoke run)
 *   --reps N           repetitions per target, interleaved (default 2)
 *   --targets a,b      only these targets (direct, trackfs-strict, trackfs-ordered, trackfs-off,
 *                      c-libfuse2, qsd)
 *   --jobs a,b         only these jobs (ids as in latest.json, e.g. seq-write-first,rand-read-qd1)
 *   --no-scale         skip the 16 TiB mount/memory test
 *   --knobs            instead of the comparison, measure tuning knobs of trackfs strict
 *                      (UV_THREADPOOL_SIZE 4/16/64, --mark-ahead 0/1M/4M, cluster size 64K/1M):
 *                      writes knobs.{json,md}
 *   --out DIR          where to write results (default bench/results)
 *   --variant N=TREE[:args]  also measure the trackfs built in another source tree (a candidate
 *                      change), as target N, mounted with args (comma-separated; default strict)
 *   --render FILE      only redraw the chart from an earlier latest.json
 *
 * Targets (each session on its own fresh sparse image): fio straight on the image file
 * ("direct"); trackfs strict, ordered, and with tracking off (a hidden switch, so the cost of
 * tracking itself shows); a C libfuse2 passthrough (bench/passthrough.c); qemu-storage-daemon's
 * FUSE export. Peers that cannot be installed are skipped with a message. Repetitions are
 * interleaved (target order rotates per repetition) so drift on a noisy machine hits all alike.
 *
 * Each target runs three sessions per repetition, each on a fresh image (so a fresh journal):
 *   main      sequential write (first touch, then rewrite), O_DIRECT rewrite, cold and hot reads,
 *             random 4K write/read at qd1 and with 4 jobs, 4K writes with fdatasync (rewrites);
 *   fresh-1   sequential O_DIRECT write on a fresh image (first touch);
 *   fresh-2   random 4K writes at qd1, one per 64 KiB cluster in random order (every write a first
 *             touch), replayed from a generated fio iolog.
 *
 * Writes latest.json (medians, spread, samples, ratios, target verdicts), latest.md (tables),
 * latest.svg and latest.png (chart; PNG via rsvg-convert from librsvg2-bin, installed when
 * missing). A slow result is a finding: nothing is filtered.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'trackfs.js');
const CLUSTER = 64 * 1024; // trackfs's default cluster size: the first-touch iolog writes one 4K per cluster

interface Options {
  quick: boolean;
  reps: number;
  targets: string[] | null;
  jobs: string[] | null;
  scale: boolean;
  knobs: boolean;
  /** Extra trackfs targets from other source trees: NAME=TREE[:mount args separated by commas]. */
  variants: string[];
  /** Only redraw latest.svg/png from this latest.json. */
  render: string | null;
  out: string;
  sizeMiB: number;
  runtime: number;
  scaleWrites: number;
}

function parseArgs(argv: string[]): Options {
  const known = new Set(['--quick', '--reps', '--targets', '--jobs', '--no-scale', '--knobs', '--out', '--render', '--variant']);
  for (const a of argv) if (a.startsWith('--') && !known.has(a)) throw new Error(`unknown option ${a}`);
  const quick = argv.includes('--quick');
  const get = (name: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
  const reps = Number(get('--reps') ?? 2);
  if (!Number.isInteger(reps) || reps < 1) throw new Error('--reps needs a positive integer');
  return {
    quick,
    reps,
    targets: get('--targets')?.split(',') ?? null,
    jobs: get('--jobs')?.split(',') ?? null,
    scale: !argv.includes('--no-scale'),
    knobs: argv.includes('--knobs'),
    render: get('--render') ?? null,
    variants: argv.flatMap((a, i) => (a === '--variant' && argv[i + 1] ? [argv[i + 1]!] : [])),
    out: get('--out') ?? join(ROOT, 'bench', 'results'),
    sizeMiB: quick ? 256 : 1024,
    runtime: quick ? 3 : 8,
    scaleWrites: quick ? 50_000 : 1_000_000,
  };
}

/* -------------------------------------------------------------- installs ---- */

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

let aptUpdated = false;
function aptInstall(pkgs: string[]): boolean {
  if (process.getuid?.() !== 0 || !have('apt-get')) return false;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], { stdio: 'ignore', env }).status === 0;
  if (install()) return true;
  if (!aptUpdated) {
    aptUpdated = true;
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
  }
  return install();
}

function ensureTools(): string[] {
  const notes: string[] = [];
  if (!have('fio') && !aptInstall(['fio'])) throw new Error('fio is required (apt-get install fio)');
  // A peer that cannot be installed is reported as skipped by its target (available()).
  if (!existsSync('/usr/include/fuse/fuse.h')) aptInstall(['libfuse-dev', 'pkg-config', 'gcc', 'libc6-dev']);
  if (!have('qemu-storage-daemon')) aptInstall(['qemu-system-common', 'libfuse3-3']);
  return notes;
}

/* --------------------------------------------------------------- cleanup ---- */

/** Undo actions for whatever is live now (a mount, a temp dir), run on SIGINT/SIGTERM too. */
const cleanups = new Set<() => void>();
function onCleanup(fn: () => void): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}
function runCleanups(): void {
  for (const fn of [...cleanups].reverse()) {
    try { fn(); } catch { /* best effort */ }
  }
  cleanups.clear();
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    console.error(`bench: ${sig}: cleaning up`);
    runCleanups();
    process.exit(130);
  });
}

/* --------------------------------------------------------------- targets ---- */

interface Served { file: string; pid: number | null; stop(): Promise<void> }
interface Target { name: string; label?: string; available(): string | null; start(image: string, dir: string): Promise<Served> }

function sleep(ms: number): Promise<void> { return new Promise((r) => setTimeout(r, ms)); }

function mounted(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === path);
}

async function waitMounted(path: string, child: ChildProcess | null, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (mounted(path)) return;
    if (child && child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    await sleep(50);
  }
  throw new Error(`${path} did not get mounted`);
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

async function stopChild(child: ChildProcess, mountpoint: string): Promise<void> {
  spawnSync('fusermount', ['-u', mountpoint], { stdio: 'ignore' });
  child.kill('SIGTERM');
  const until = Date.now() + 10_000;
  while (child.exitCode === null && child.signalCode === null && Date.now() < until) await sleep(50);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (mounted(mountpoint)) spawnSync('fusermount', ['-uz', mountpoint], { stdio: 'ignore' });
}

/** Synchronous last-resort stop for the signal handler: our own child's pid and our own mountpoint only. */
function forceStop(pid: number | null, mountpoint: string): void {
  if (mounted(mountpoint)) spawnSync('fusermount', ['-uz', mountpoint], { stdio: 'ignore' });
  if (pid && alive(pid)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
}

function trackfsTarget(name: string, args: string[], extraEnv: Record<string, string> = {}, label?: string, tree = ROOT): Target {
  const BIN = join(tree, 'bin', 'trackfs.js');
  return {
    name,
    ...(label ? { label } : {}),
    available: () => (existsSync(join(tree, 'dist', 'src', 'cli', 'main.js')) ? null : `trackfs is not built in ${tree} (npx tsc -p .)`),
    async start(image, dir) {
      const mnt = join(dir, 'mnt');
      mkdirSync(mnt, { recursive: true });
      const env = { ...process.env, ...extraEnv, TRACKFS_RUNTIME_DIR: join(dir, 'run') };
      execFileSync(process.execPath, [BIN, 'mount', image, mnt, '--log-level', 'warn', ...args], { env, stdio: ['ignore', 'ignore', 'inherit'] });
      const status = JSON.parse(execFileSync(process.execPath, [BIN, 'status', mnt, '--json'], { env }).toString()) as { pid: number };
      const pid = status.pid;
      const undo = onCleanup(() => forceStop(pid, mnt));
      return {
        file: join(mnt, 'volume'),
        pid,
        stop: async () => {
          const r = spawnSync(process.execPath, [BIN, 'unmount', mnt], { env, encoding: 'utf8' });
          if (r.status !== 0) {
            console.error(`bench: trackfs unmount of ${name} failed (${r.stderr.trim()}); retrying lazily`);
            spawnSync(process.execPath, [BIN, 'unmount', '--lazy', mnt], { env, stdio: 'ignore' });
          }
          const until = Date.now() + 10_000;
          while (alive(pid) && Date.now() < until) await sleep(50);
          forceStop(pid, mnt);
          undo();
        },
      };
    },
  };
}

function childTarget(name: string, available: () => string | null, launch: (image: string, dir: string) => { child: ChildProcess; file: string; mountpoint: string }): Target {
  return {
    name,
    available,
    async start(image, dir) {
      const { child, file, mountpoint } = launch(image, dir);
      const undo = onCleanup(() => forceStop(child.pid ?? null, mountpoint));
      try {
        await waitMounted(mountpoint, child);
      } catch (e) {
        await stopChild(child, mountpoint);
        undo();
        throw e;
      }
      return { file, pid: child.pid ?? null, stop: async () => { await stopChild(child, mountpoint); undo(); } };
    },
  };
}

let passthroughBinary = '';
let passthroughError: string | null = 'not built';

/** Builds bench/passthrough.c into `work` (never a stale binary from an earlier run). */
function buildPassthrough(work: string): void {
  if (!existsSync('/usr/include/fuse/fuse.h')) {
    passthroughError = 'libfuse-dev is not installed and apt-get could not install it';
    return;
  }
  passthroughBinary = join(work, 'passthrough');
  const r = spawnSync('sh', ['-c', `cc -O2 -Wall -o ${passthroughBinary} ${join(ROOT, 'bench', 'passthrough.c')} $(pkg-config --cflags --libs fuse)`], { encoding: 'utf8' });
  passthroughError = r.status === 0 ? null : `cannot build bench/passthrough.c: ${r.stderr.trim().split('\n')[0]}`;
}

const TARGETS: Target[] = [
  { name: 'direct', available: () => null, async start(image) { return { file: image, pid: null, stop: async () => {} }; } },
  trackfsTarget('trackfs-strict', ['--durability', 'strict']),
  trackfsTarget('trackfs-ordered', ['--durability', 'ordered']),
  trackfsTarget('trackfs-off', ['--tracking-off']),
  childTarget('c-libfuse2', () => passthroughError, (image, dir) => {
    const mnt = join(dir, 'mnt');
    mkdirSync(mnt, { recursive: true });
    const child = spawn(passthroughBinary, [image, mnt, '-f', '-o', 'big_writes,auto_unmount'], { stdio: 'ignore' });
    return { child, file: join(mnt, 'volume'), mountpoint: mnt };
  }),
  childTarget('qsd', () => (have('qemu-storage-daemon') ? null : 'qemu-storage-daemon is not installed and apt-get could not install it (qemu-system-common, libfuse3-3)'), (image, dir) => {
    const file = join(dir, 'export.img');
    writeFileSync(file, '');
    const child = spawn('qemu-storage-daemon', [
      '--blockdev', `driver=file,node-name=file0,filename=${image},cache.direct=off`,
      '--blockdev', 'driver=raw,node-name=raw0,file=file0',
      '--export', `type=fuse,id=exp0,node-name=raw0,mountpoint=${file},writable=on`,
    ], { stdio: 'ignore' });
    return { child, file, mountpoint: file };
  }),
];

/* ------------------------------------------------------------------ jobs ---- */

type Session = 'main' | 'fresh-1' | 'fresh-2';

interface Job {
  id: string;
  name: string;
  metric: 'MB/s' | 'IOPS';
  session: Session;
  args: string[];
  /** first: every write reaches clusters no write touched before (fresh journal); rewrite: all marked already. */
  touch?: 'first' | 'rewrite';
  cold?: boolean;
  /** Random jobs run for a fixed time; sequential ones cover the file once. */
  timeBased?: boolean;
  /** Replays a generated iolog: one 4 KiB write per 64 KiB cluster, clusters in random order. */
  firstTouchLog?: boolean;
  /** Counts toward "CPU per 4 KiB operation". */
  small?: boolean;
}

const JOBS: Job[] = [
  { id: 'seq-write-first', name: 'seq write 1M buffered + fsync (first touch)', metric: 'MB/s', session: 'main', touch: 'first', args: ['--rw=write', '--bs=1M', '--end_fsync=1'] },
  { id: 'seq-write-rewrite', name: 'seq write 1M buffered + fsync (rewrite)', metric: 'MB/s', session: 'main', touch: 'rewrite', args: ['--rw=write', '--bs=1M', '--end_fsync=1'] },
  { id: 'seq-write-direct-rewrite', name: 'seq write 1M O_DIRECT (rewrite)', metric: 'MB/s', session: 'main', touch: 'rewrite', args: ['--rw=write', '--bs=1M', '--direct=1'] },
  { id: 'seq-read-cold', name: 'seq read 1M cold', metric: 'MB/s', session: 'main', cold: true, args: ['--rw=read', '--bs=1M'] },
  { id: 'seq-read-hot', name: 'seq read 1M hot', metric: 'MB/s', session: 'main', args: ['--rw=read', '--bs=1M'] },
  { id: 'rand-write-qd1-rewrite', name: 'rand write 4K qd1 (rewrite)', metric: 'IOPS', session: 'main', touch: 'rewrite', timeBased: true, small: true, args: ['--rw=randwrite', '--bs=4k'] },
  { id: 'rand-read-qd1', name: 'rand read 4K qd1', metric: 'IOPS', session: 'main', timeBased: true, small: true, args: ['--rw=randread', '--bs=4k'] },
  { id: 'rand-write-4jobs-rewrite', name: 'rand write 4K 4 jobs (rewrite)', metric: 'IOPS', session: 'main', touch: 'rewrite', timeBased: true, small: true, args: ['--rw=randwrite', '--bs=4k', '--numjobs=4', '--group_reporting'] },
  { id: 'rand-read-4jobs', name: 'rand read 4K 4 jobs', metric: 'IOPS', session: 'main', timeBased: true, small: true, args: ['--rw=randread', '--bs=4k', '--numjobs=4', '--group_reporting'] },
  { id: 'fdatasync-rewrite', name: '4K write + fdatasync (rewrite)', metric: 'IOPS', session: 'main', touch: 'rewrite', timeBased: true, small: true, args: ['--rw=randwrite', '--bs=4k', '--fdatasync=1'] },
  { id: 'seq-write-direct-first', name: 'seq write 1M O_DIRECT (first touch)', metric: 'MB/s', session: 'fresh-1', touch: 'first', args: ['--rw=write', '--bs=1M', '--direct=1'] },
  { id: 'rand-write-qd1-first', name: 'rand write 4K qd1 (first touch)', metric: 'IOPS', session: 'fresh-2', touch: 'first', firstTouchLog: true, small: true, args: [] },
];
const SESSIONS: Session[] = ['main', 'fresh-1', 'fresh-2'];

function cpuTicks(pid: number | null): number {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime of all threads, clock ticks
  } catch {
    return 0;
  }
}

function rssMiB(pid: number | null): number {
  if (!pid) return NaN;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** fio iolog (version 2, replayed as fast as it goes): one 4 KiB write in each cluster, random order. */
function writeFirstTouchLog(path: string, bytes: number): void {
  const clusters = Math.floor(bytes / CLUSTER);
  const order = Array.from({ length: clusters }, (_, i) => i);
  let seed = 12345;
  const rand = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x80000000; };
  for (let i = order.length - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [order[i], order[j]] = [order[j]!, order[i]!]; }
  const lines = ['fio version 2 iolog', 'vol add', 'vol open'];
  for (const c of order) lines.push(`vol write ${c * CLUSTER + Math.floor(rand() * (CLUSTER / 4096)) * 4096} 4096`);
  lines.push('vol close');
  writeFileSync(path, `${lines.join('\n')}\n`);
}

interface FioResult { value: number; ops: number; bytes: number; clat50us: number }

function fio(file: string, job: Job, opts: Options, iolog: string): FioResult {
  const args = ['--name=bench', `--filename=${file}`, '--ioengine=psync', '--output-format=json', ...job.args];
  if (job.firstTouchLog) args.push(`--read_iolog=${iolog}`, `--replay_redirect=${file}`);
  else args.push(`--size=${opts.sizeMiB}M`);
  if (job.timeBased) args.push('--time_based=1', `--runtime=${opts.runtime}`);
  else args.push('--runtime=300'); // a cap only: sequential jobs cover the whole file
  const r = spawnSync('fio', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`fio ${job.id} on ${file}: ${r.stderr.trim().split('\n').slice(-1)[0]}`);
  type Side = { bw_bytes: number; iops: number; total_ios: number; io_bytes: number; clat_ns?: { percentile?: Record<string, number> } };
  const j = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { jobs: { read: Side; write: Side }[] };
  const side = job.args.some((a) => /--rw=(rand)?read/.test(a)) ? j.jobs[0]!.read : j.jobs[0]!.write;
  const p50 = side.clat_ns?.percentile?.['50.000000'];
  return { value: job.metric === 'MB/s' ? side.bw_bytes / 1e6 : side.iops, ops: side.total_ios, bytes: side.io_bytes, clat50us: p50 ? p50 / 1000 : NaN };
}

function dropCaches(): void {
  spawnSync('sync');
  try { writeFileSync('/proc/sys/vm/drop_caches', '3'); } catch { /* not root: the "cold" read is warm */ }
}

/* ----------------------------------------------------------------- stats ---- */

const median = (xs: number[]) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length ? (s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2) : NaN;
};
const spread = (xs: number[]) => (xs.length > 1 ? (Math.max(...xs) - Math.min(...xs)) / median(xs) : NaN);
const round = (v: number, d = 3) => (Number.isFinite(v) ? Number(v.toFixed(d)) : null);

function fmt(v: number, metric: string): string {
  if (!Number.isFinite(v)) return '-';
  return metric === 'IOPS' ? (v >= 1000 ? `${(v / 1000).toFixed(1)}K` : v.toFixed(0)) : v.toFixed(0);
}
const ratio = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '-');

interface Cell { samples: number[]; cpuUsPerOp: number[]; clat50us: number[] }

/* ------------------------------------------------------------------ runs ---- */

/** Runs every (target, repetition, session) with the repetitions interleaved. */
async function runMatrix(targets: Target[], jobs: Job[], opts: Options, work: string, iolog: string): Promise<{ cells: Map<string, Cell>; rss: Map<string, number[]> }> {
  const cells = new Map<string, Cell>();
  const rss = new Map<string, number[]>();
  const cell = (j: string, t: string) => {
    const k = `${j}\u0000${t}`;
    if (!cells.has(k)) cells.set(k, { samples: [], cpuUsPerOp: [], clat50us: [] });
    return cells.get(k)!;
  };
  const ticksPerSecond = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);
  for (let rep = 0; rep < opts.reps; rep++) {
    // Rotate the order each repetition: drift on a noisy machine then hits every target.
    const order = targets.map((_, i) => targets[(i + rep) % targets.length]!);
    for (const t of order) {
      for (const session of SESSIONS) {
        const sjobs = jobs.filter((j) => j.session === session);
        if (sjobs.length === 0) continue;
        const dir = join(work, `${t.name}-${rep}-${session}`);
        mkdirSync(dir);
        const image = join(dir, 'image.raw');
        execFileSync('truncate', ['-s', `${opts.sizeMiB}M`, image]);
        const served = await t.start(image, dir);
        try {
          for (const job of sjobs) {
            if (job.cold) dropCaches();
            const before = cpuTicks(served.pid);
            const r = fio(served.file, job, opts, iolog);
            const cpu = ((cpuTicks(served.pid) - before) / ticksPerSecond) * 1e6;
            const c = cell(job.id, t.name);
            c.samples.push(r.value);
            c.clat50us.push(r.clat50us);
            if (served.pid && r.ops > 0) c.cpuUsPerOp.push(cpu / r.ops);
            const full = job.timeBased || r.bytes >= (job.firstTouchLog ? (Math.floor((opts.sizeMiB << 20) / CLUSTER) * 4096) : opts.sizeMiB << 20);
            console.log(`rep ${rep + 1}/${opts.reps} ${t.name.padEnd(22)} ${job.name.padEnd(44)} ${fmt(r.value, job.metric).padStart(7)} ${job.metric}${served.pid ? `  ${(cpu / Math.max(1, r.ops)).toFixed(0)} µs CPU/op` : ''}${full ? '' : '  (did not cover the file!)'}`);
          }
          if (session === 'main' && served.pid) {
            if (!rss.has(t.name)) rss.set(t.name, []);
            rss.get(t.name)!.push(rssMiB(served.pid));
          }
        } finally {
          await served.stop();
          rmSync(dir, { recursive: true, force: true });
        }
      }
    }
  }
  return { cells, rss };
}

const SCALE_WRITERS = 4;

/**
 * Mount time and memory of trackfs over a 16 TiB sparse image: a fresh mount in strict mode (mount
 * time, RSS); then many random 4K writes spread over the whole image, each a first touch, and the
 * daemon's RSS after them; then a strict remount of that journal (load time of a used journal).
 * The writes run in ordered mode with 4 writers: in strict mode each of them waits for its own
 * journal fdatasync (~1 500 IOPS here, 11 minutes for 1M writes), and the memory held for the
 * bitmap does not depend on the mode.
 */
async function scaleTest(opts: Options): Promise<Record<string, number | string>> {
  const dir = mkdtempSync(join(tmpdir(), 'trackfs-bench-scale-'));
  const undoDir = onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const image = join(dir, 'huge.raw');
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  const env = { ...process.env, TRACKFS_RUNTIME_DIR: join(dir, 'run') };
  let pid: number | null = null;
  const undoMount = onCleanup(() => forceStop(pid, mnt));
  const mount = (durability: string): number => {
    const t0 = process.hrtime.bigint();
    execFileSync(process.execPath, [BIN, 'mount', image, mnt, '--log-level', 'warn', '--durability', durability], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    const ms = Number((process.hrtime.bigint() - t0) / 1_000_000n);
    pid = (JSON.parse(execFileSync(process.execPath, [BIN, 'status', mnt, '--json'], { env }).toString()) as { pid: number }).pid;
    return ms;
  };
  const unclean: string[] = [];
  const unmount = (what: string): number => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [BIN, 'unmount', mnt], { env, encoding: 'utf8' });
    const ms = Number((process.hrtime.bigint() - t0) / 1_000_000n);
    if (r.status !== 0) {
      // Not fatal for the measurement (the next mount recovers the journal), but a finding: say why.
      const log = readdirSync(join(dir, 'run')).filter((f) => f.endsWith('.log')).map((f) => readFileSync(join(dir, 'run', f), 'utf8')).join('\n');
      const why = [...log.matchAll(/"msg":"(release: [^"]*)"/g)].map((m) => m[1]).join('; ');
      unclean.push(`${what}: ${r.stderr.trim().replace(/^trackfs: /, '')}${why ? ` (${why}; ${/"message":"([^"]*within[^"]*)"/.exec(log)?.[1] ?? ''})` : ''}`);
    }
    return ms;
  };
  try {
    // ext4 caps a file just below 16 TiB (4 KiB blocks): take the largest the file system allows.
    let size = 16 * 1024 ** 4;
    for (;;) {
      if (spawnSync('truncate', ['-s', String(size), image]).status === 0) break;
      size -= 1024 * 1024;
      if (size < 15 * 1024 ** 4) throw new Error('cannot create a ~16 TiB sparse file here');
    }
    const mountMs = mount('strict');
    const rssAfterMountMiB = rssMiB(pid);
    unmount('unmount after the fresh mount');
    mount('ordered');
    const writes = opts.scaleWrites;
    const t1 = Date.now();
    const r = spawnSync('fio', ['--name=scale', `--filename=${join(mnt, 'volume')}`, '--rw=randwrite', '--bs=4k', '--ioengine=psync',
      `--number_ios=${Math.ceil(writes / SCALE_WRITERS)}`, `--numjobs=${SCALE_WRITERS}`, '--group_reporting', `--size=${size}`, '--norandommap', '--randrepeat=0',
      '--output-format=json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const fioSeconds = (Date.now() - t1) / 1000;
    const w = r.status === 0 ? (JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { jobs: { write: { iops: number; total_ios: number } }[] }).jobs[0]!.write : null;
    const rssAfterWritesMiB = rssMiB(pid);
    const unmountMs = unmount('unmount after the writes');
    const remountMs = mount('strict');
    const rssAfterRemountMiB = rssMiB(pid);
    unmount('final unmount');
    return {
      imageBytes: size, mountMs, rssAfterMountMiB: round(rssAfterMountMiB, 1)!, writes: w?.total_ios ?? 0, writeIops: round(w?.iops ?? NaN, 0) ?? NaN,
      fioSeconds, rssAfterWritesMiB: round(rssAfterWritesMiB, 1)!, unmountMs, remountMs, rssAfterRemountMiB: round(rssAfterRemountMiB, 1)!,
      ...(r.status === 0 ? {} : { error: r.stderr.trim().split('\n').slice(-1)[0] ?? 'fio failed' }),
      ...(unclean.length ? { uncleanUnmounts: unclean.join(' | ') } : {}),
    };
  } finally {
    forceStop(pid, mnt);
    undoMount();
    rmSync(dir, { recursive: true, force: true });
    undoDir();
  }
}

/* ----------------------------------------------------------------- chart ---- */

const COLORS: Record<string, string> = {
  direct: '#9e9e9e', 'trackfs-strict': '#1565c0', 'trackfs-ordered': '#64b5f6', 'trackfs-off': '#7e57c2', 'c-libfuse2': '#ef6c00', qsd: '#c62828',
};
const PALETTE = ['#1565c0', '#64b5f6', '#7e57c2', '#2e7d32', '#ef6c00', '#c62828', '#9e9e9e'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Grouped horizontal bars, one group per job, each bar the target's result divided by the
 * reference target's (qsd when present): the line at 1.0 is "as fast as the reference". Bars past
 * the scale are cut and say so; every bar carries its ratio and its absolute value.
 */
function svgChart(title: string, subtitle: string, jobs: Job[], targets: string[], med: (j: string, t: string) => number, ref: string): string {
  const width = 1100;
  const left = 300; // job labels
  const plotW = 600;
  const maxR = 2.5;
  const barH = 12;
  const gap = 2;
  const groupPad = 16;
  const legendRows = Math.ceil(targets.length / 4);
  const top = 64 + legendRows * 20 + 22;
  const x = (r: number) => left + (plotW * Math.min(r, maxR)) / maxR;
  const parts: string[] = [];
  const groupH = targets.length * (barH + gap) + groupPad;
  const height = top + jobs.length * groupH + 30;
  parts.push(`<text x="12" y="24" font-size="18" font-weight="bold">${esc(title)}</text>`);
  parts.push(`<text x="12" y="44" font-size="13" fill="#444">${esc(subtitle)}</text>`);
  targets.forEach((t, i) => {
    const lx = 12 + (i % 4) * 230;
    const ly = 58 + Math.floor(i / 4) * 20;
    parts.push(`<rect x="${lx}" y="${ly}" width="14" height="14" fill="${COLORS[t] ?? PALETTE[i % PALETTE.length]}"/><text x="${lx + 20}" y="${ly + 12}" font-size="13">${esc(t)}${t === ref ? ' (= 1.0)' : ''}</text>`);
  });
  // Grid and scale.
  for (let r = 0; r <= maxR + 1e-9; r += 0.5) {
    const gx = x(r);
    parts.push(`<line x1="${gx}" y1="${top - 6}" x2="${gx}" y2="${height - 24}" stroke="${r === 1 ? '#000' : '#ddd'}" stroke-width="${r === 1 ? 1.5 : 1}"${r === 1 ? ' stroke-dasharray="5,3"' : ''}/>`);
    parts.push(`<text x="${gx}" y="${top - 10}" font-size="11" text-anchor="middle" fill="${r === 1 ? '#000' : '#444'}">${r === 1 ? `1.0× = ${esc(ref)}` : `${r.toFixed(1)}×`}</text>`);
    parts.push(`<text x="${gx}" y="${height - 10}" font-size="11" text-anchor="middle" fill="#444">${r.toFixed(1)}×</text>`);
  }
  jobs.forEach((job, gi) => {
    const gy = top + gi * groupH;
    if (gi % 2 === 0) parts.push(`<rect x="0" y="${gy - groupPad / 2 + 2}" width="${width}" height="${groupH}" fill="#f5f5f5"/>`);
    const base = med(job.id, ref);
    // Two lines: what the job does, then first touch/rewrite, the unit and the reference's value.
    const m = /^(.*?)\s*\(([^)]*)\)$/.exec(job.name);
    const what = m ? m[1]! : job.name;
    const detail = [m?.[2], job.metric, `${ref} = ${fmt(base, job.metric)}`].filter(Boolean).join(' · ');
    parts.push(`<text x="${left - 10}" y="${gy + 14}" font-size="13" text-anchor="end" font-weight="bold">${esc(what)}</text>`);
    parts.push(`<text x="${left - 10}" y="${gy + 31}" font-size="12" text-anchor="end" fill="#333">${esc(detail)}</text>`);
    targets.forEach((t, i) => {
      const v = med(job.id, t);
      const r = v / base;
      const by = gy + i * (barH + gap);
      const w = Number.isFinite(r) ? x(r) - left : 0;
      parts.push(`<rect x="${left}" y="${by}" width="${w.toFixed(1)}" height="${barH}" fill="${COLORS[t] ?? PALETTE[i % PALETTE.length]}"/>`);
      const cut = Number.isFinite(r) && r > maxR;
      if (cut) parts.push(`<path d="M${x(maxR) - 8},${by} l8,${barH / 2} l-8,${barH / 2} z" fill="#fff"/>`);
      const label = Number.isFinite(r) ? `${r.toFixed(2)}  (${fmt(v, job.metric)})` : 'n/a';
      parts.push(`<text x="${left + w + 5}" y="${by + barH - 2}" font-size="11" stroke="#fff" stroke-width="3" paint-order="stroke">${label}</text>`);
    });
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif"><rect width="100%" height="100%" fill="white"/>${parts.join('')}</svg>\n`;
}

/** Renders the SVG to PNG with rsvg-convert (installs librsvg2-bin when missing); null when it cannot. */
function renderPng(svg: string, png: string): string | null {
  if (!have('rsvg-convert') && !aptInstall(['librsvg2-bin'])) return 'PNG skipped: rsvg-convert (librsvg2-bin) could not be installed';
  const r = spawnSync('rsvg-convert', ['-f', 'png', '-b', 'white', '-o', png, svg], { encoding: 'utf8' });
  return r.status === 0 ? null : `PNG skipped: rsvg-convert failed: ${r.stderr.trim().split('\n')[0]}`;
}

/** Writes latest.svg and latest.png; returns a note when the PNG could not be made. */
function writeChart(out: string, jobs: Job[], names: string[], med: (j: string, t: string) => number, subtitle: string): string | null {
  const has = (t: string) => names.includes(t);
  const ref = has('qsd') ? 'qsd' : has('c-libfuse2') ? 'c-libfuse2' : names[0]!;
  const svg = svgChart(
    `trackfs benchmark: throughput relative to ${ref === 'qsd' ? 'qemu-storage-daemon' : ref} (higher is better)`,
    `${subtitle}; bar label: ratio (absolute value)`,
    jobs, names, med, ref,
  );
  writeFileSync(join(out, 'latest.svg'), svg);
  return renderPng(join(out, 'latest.svg'), join(out, 'latest.png'));
}

/** `--render FILE`: redraws the chart of an earlier latest.json (no measuring). */
function renderOnly(file: string, out: string): void {
  const data = JSON.parse(readFileSync(file, 'utf8')) as { meta: { imageMiB: number; reps: number; date: string }; results: { id: string; targets: Record<string, { median: number | null }> }[] };
  const jobs = data.results.map((r) => JOBS.find((j) => j.id === r.id)).filter((j): j is Job => !!j);
  const names = Object.keys(data.results[0]?.targets ?? {});
  const med = (j: string, t: string) => data.results.find((r) => r.id === j)?.targets[t]?.median ?? NaN;
  mkdirSync(out, { recursive: true });
  const note = writeChart(out, jobs, names, med, `${data.meta.imageMiB} MiB image, medians of ${data.meta.reps} interleaved repetitions, ${data.meta.date.slice(0, 10)}`);
  console.log(note ?? `wrote ${out}/latest.svg and latest.png`);
}

/* --------------------------------------------------------------- reports ---- */

function gitFacts(): { commit: string; dirty: string[] } {
  const env = process.env['BENCH_SOURCE_COMMIT'];
  try {
    const commit = execFileSync('git', ['-C', ROOT, 'rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src', 'bin'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n').filter(Boolean);
    return { commit, dirty };
  } catch {
    return { commit: env ?? 'unknown', dirty: [] };
  }
}

function baseMeta(opts: Options, notes: string[], startedAt: number) {
  const git = gitFacts();
  return {
    date: new Date().toISOString(),
    durationSeconds: Math.round((Date.now() - startedAt) / 1000),
    quick: opts.quick,
    reps: opts.reps,
    imageMiB: opts.sizeMiB,
    randomJobSeconds: opts.runtime,
    node: process.version,
    kernel: release(),
    cpus: cpus().length,
    uvThreadpoolSize: process.env['UV_THREADPOOL_SIZE'] ?? '16 (set by bin/trackfs.js)',
    commit: git.commit,
    uncommittedSourceChanges: git.dirty,
    notes,
  };
}

async function comparison(opts: Options, notes: string[], startedAt: number): Promise<void> {
  const variants = opts.variants.map((v) => {
    const m = /^([\w.-]+)=([^:]+)(?::(.*))?$/.exec(v);
    if (!m) throw new Error(`--variant wants NAME=TREE[:arg,arg], got ${v}`);
    return trackfsTarget(m[1]!, m[3] ? m[3].split(',') : ['--durability', 'strict'], {}, `${m[1]} (${m[2]})`, m[2]!);
  });
  const targets = [...TARGETS, ...variants].filter((t) => !opts.targets || opts.targets.includes(t.name) || variants.includes(t)).filter((t) => {
    const why = t.available();
    if (why) notes.push(`${t.name} skipped: ${why}`);
    return !why;
  });
  const jobs = JOBS.filter((j) => !opts.jobs || opts.jobs.includes(j.id));
  if (jobs.length === 0) throw new Error(`no job matches --jobs; ids: ${JOBS.map((j) => j.id).join(', ')}`);
  for (const n of notes) console.log(`bench: ${n}`);
  const work = mkdtempSync(join(tmpdir(), 'trackfs-bench-'));
  const undoWork = onCleanup(() => rmSync(work, { recursive: true, force: true }));
  let matrix: Awaited<ReturnType<typeof runMatrix>>;
  try {
    const iolog = join(work, 'first-touch.iolog');
    writeFirstTouchLog(iolog, opts.sizeMiB << 20);
    matrix = await runMatrix(targets, jobs, opts, work, iolog);
  } finally {
    rmSync(work, { recursive: true, force: true });
    undoWork();
  }
  const { cells, rss } = matrix;
  const scale = opts.scale && targets.some((t) => t.name === 'trackfs-strict') ? await scaleTest(opts) : null;
  if (scale) console.log(`16 TiB sparse image: ${JSON.stringify(scale)}`);
  const trackerCost = measureTrackerCost(notes);

  const names = targets.map((t) => t.name);
  const has = (t: string) => names.includes(t);
  const med = (j: string, t: string) => median(cells.get(`${j}\u0000${t}`)?.samples ?? []);
  const cpuOf = (j: string, t: string) => median(cells.get(`${j}\u0000${t}`)?.cpuUsPerOp ?? []);
  const results = jobs.map((job) => {
    const per = (fn: (t: string) => number) => Object.fromEntries(names.map((t) => [t, round(fn(t))]));
    return {
      id: job.id,
      job: job.name,
      metric: job.metric,
      touch: job.touch ?? null,
      targets: Object.fromEntries(names.map((t) => {
        const c = cells.get(`${job.id}\u0000${t}`);
        return [t, {
          median: round(med(job.id, t), 1), spread: round(spread(c?.samples ?? [])), samples: (c?.samples ?? []).map((v) => round(v, 1)),
          cpuUsPerOp: round(cpuOf(job.id, t), 1), clat50us: round(median(c?.clat50us ?? []), 1),
        }];
      })),
      ratios: {
        vsDirect: per((t) => med(job.id, t) / med(job.id, 'direct')),
        vsQsd: per((t) => med(job.id, t) / med(job.id, 'qsd')),
        strictVsOff: round(med(job.id, 'trackfs-strict') / med(job.id, 'trackfs-off')),
        orderedVsOff: round(med(job.id, 'trackfs-ordered') / med(job.id, 'trackfs-off')),
      },
    };
  });

  // The issue's targets, judged from this run's medians.
  const verdicts: { target: string; value: string; holds: boolean | null }[] = [];
  if (has('trackfs-strict') && has('qsd')) {
    for (const job of jobs) {
      const r = med(job.id, 'trackfs-strict') / med(job.id, 'qsd');
      verdicts.push({ target: `strict >= qsd: ${job.name}`, value: ratio(r), holds: Number.isFinite(r) ? r >= 1 : null });
    }
  }
  if (has('trackfs-strict') && has('trackfs-off')) {
    for (const job of jobs.filter((j) => j.touch === 'rewrite' || (j.touch === 'first' && j.id.startsWith('seq-')))) {
      const r = med(job.id, 'trackfs-strict') / med(job.id, 'trackfs-off');
      const limit = job.touch === 'rewrite' ? 0.95 : 0.85;
      const spreads = ['trackfs-strict', 'trackfs-off'].map((t) => spread(cells.get(`${job.id}\u0000${t}`)?.samples ?? []));
      const noise = spreads.every(Number.isFinite) ? `; spread strict ${(spreads[0]! * 100).toFixed(0)} %, off ${(spreads[1]! * 100).toFixed(0)} %` : '';
      verdicts.push({ target: `strict/off >= ${limit} (overhead <= ${Math.round((1 - limit) * 100)} %): ${job.name}`, value: `${Number.isFinite(r) ? r.toFixed(3) : '-'}${noise}`, holds: Number.isFinite(r) ? r >= limit : null });
    }
  }
  if (trackerCost && has('trackfs-strict')) {
    // The fio ratios above cannot resolve 5 % on this machine (see the spread); the in-process
    // measure of the same code path can.
    const perRequestNs = (cpuOf('rand-write-qd1-rewrite', 'trackfs-strict') || 100) * 1000;
    const share = trackerCost.random4k.addedNs / perRequestNs;
    verdicts.push({
      target: 'tracking overhead on rewrites <= 5 %, in-process (ChangeTracker vs tracking off, same calls)',
      value: `${trackerCost.random4k.addedNs} ns per 4 KiB rewrite, ${trackerCost.sequential128k.addedNs} ns per 128 KiB one = ${(share * 100).toFixed(3)} % of the daemon's CPU per 4 KiB request`,
      holds: share <= 0.05,
    });
  }
  if (scale) {
    verdicts.push({ target: '16 TiB sparse image: mount < 2 s', value: `${scale['mountMs']} ms`, holds: Number(scale['mountMs']) < 2000 });
    verdicts.push({ target: '16 TiB sparse image: RSS < 150 MB after mount', value: `${(Number(scale['rssAfterMountMiB']) * 1.048576).toFixed(0)} MB`, holds: Number(scale['rssAfterMountMiB']) * 1.048576 < 150 });
  }

  const smallJobs = jobs.filter((j) => j.small);
  const cpuPer4k = Object.fromEntries(names.filter((t) => t !== 'direct').map((t) => [t, round(median(smallJobs.map((j) => cpuOf(j.id, t))), 1)]));
  const rssAfterMain = Object.fromEntries([...rss].map(([t, xs]) => [t, round(median(xs), 1)]));
  const meta = baseMeta(opts, notes, startedAt);
  mkdirSync(opts.out, { recursive: true });

  // Markdown.
  const cols = [...names, ...(has('trackfs-strict') && has('direct') ? ['strict/direct'] : []), ...(has('trackfs-strict') && has('trackfs-off') ? ['strict/off'] : []), ...(has('trackfs-strict') && has('qsd') ? ['strict/qsd'] : [])];
  const head = `| job | ${cols.join(' | ')} |\n|---|${cols.map(() => '---:|').join('')}\n`;
  const rows = results.map((r) => {
    const vals = names.map((t) => fmt(r.targets[t]!.median ?? NaN, r.metric));
    if (cols.includes('strict/direct')) vals.push(ratio(r.ratios.vsDirect['trackfs-strict'] ?? NaN));
    if (cols.includes('strict/off')) vals.push(ratio(r.ratios.strictVsOff ?? NaN));
    if (cols.includes('strict/qsd')) vals.push(ratio(r.ratios.vsQsd['trackfs-strict'] ?? NaN));
    return `| ${r.job}, ${r.metric} | ${vals.join(' | ')} |`;
  }).join('\n');
  const servers = names.filter((t) => t !== 'direct');
  const cpuHead = `| job | ${servers.join(' | ')} |\n|---|${servers.map(() => '---:|').join('')}\n`;
  const cpuRows = results.map((r) => `| ${r.job} | ${servers.map((t) => (r.targets[t]!.cpuUsPerOp === null ? '-' : r.targets[t]!.cpuUsPerOp!.toFixed(0))).join(' | ')} |`).join('\n');
  const spreadMax = Math.max(...results.flatMap((r) => names.map((t) => r.targets[t]!.spread ?? 0)));
  const scaleLine = scale
    ? `\n16 TiB sparse image (${scale['imageBytes']} bytes, 64K clusters): fresh mount (strict) ${scale['mountMs']} ms, daemon RSS ${scale['rssAfterMountMiB']} MiB;`
      + ` after ${scale['writes']} random 4K writes spread over the whole image (ordered mode, ${SCALE_WRITERS} writers, ${scale['writeIops']} IOPS${opts.quick ? '; quick mode: fewer than the 1 000 000 of a full run' : ''}) RSS ${scale['rssAfterWritesMiB']} MiB, unmount ${scale['unmountMs']} ms;`
      + ` strict remount of that journal ${scale['remountMs']} ms, RSS ${scale['rssAfterRemountMiB']} MiB.\n`
      + (scale['uncleanUnmounts'] ? `\nUnmounts that left the journal active (not clean): ${scale['uncleanUnmounts']}.\n` : '')
    : '';
  const verdictLines = verdicts.length ? `\nTargets (this run's medians):\n\n${verdicts.map((v) => `- ${v.holds === null ? '?' : v.holds ? 'holds' : 'MISSED'}: ${v.target} (${v.value})`).join('\n')}\n` : '';
  const md = `Benchmark ${meta.date} (${meta.durationSeconds} s): ${opts.sizeMiB} MiB image, ${opts.reps} interleaved repetitions, medians; commit ${meta.commit.slice(0, 10)}${meta.uncommittedSourceChanges.length ? ' + uncommitted src changes' : ''}; ${meta.cpus} CPUs, Linux ${meta.kernel}, Node ${meta.node}.\n`
    + `Largest spread (max-min)/median of any cell: ${(spreadMax * 100).toFixed(0)} %.\n\n${head}${rows}\n`
    + `\nDaemon CPU per operation (user+sys of the server process, µs; an operation is one fio I/O: 1 MiB for the seq jobs, 4 KiB otherwise):\n\n${cpuHead}${cpuRows}\n`
    + `\nMedian over the 4 KiB jobs: ${servers.map((t) => `${t} ${cpuPer4k[t] ?? '-'}`).join(', ')} µs per operation.\n`
    + `\nDaemon RSS after the main session: ${Object.entries(rssAfterMain).map(([t, v]) => `${t} ${v} MiB`).join(', ')}.\n`
    + scaleLine
    + (trackerCost ? `\nWhat tracking adds to a rewrite, in-process (bench/tracker-cost.ts, best of 5 × ${trackerCost.calls} calls): ${trackerCost.random4k.addedNs} ns per random 4 KiB write, ${trackerCost.sequential128k.addedNs} ns per sequential 128 KiB write.\n` : '')
    + verdictLines + notes.map((n) => `\n- ${n}`).join('') + '\n';
  writeFileSync(join(opts.out, 'latest.md'), md);

  const pngNote = writeChart(opts.out, jobs, names, med, `${opts.sizeMiB} MiB image, medians of ${opts.reps} interleaved repetitions, ${meta.date.slice(0, 10)}`);
  if (pngNote) { notes.push(pngNote); console.log(`bench: ${pngNote}`); }
  meta.durationSeconds = Math.round((Date.now() - startedAt) / 1000);
  writeFileSync(join(opts.out, 'latest.json'), `${JSON.stringify({ meta, results, cpuUsPer4kOp: cpuPer4k, rssAfterMainSessionMiB: rssAfterMain, scale, trackerCost, verdicts }, null, 2)}\n`);
  console.log(`\n${md}\nwrote ${opts.out}/latest.{json,md,svg${pngNote ? '' : ',png'}} in ${meta.durationSeconds} s`);
}

interface TrackerCost { calls: number; random4k: { addedNs: number }; sequential128k: { addedNs: number }; raw: unknown }

/** bench/tracker-cost.ts in a child process of its own (a clean heap and JIT). */
function measureTrackerCost(notes: string[]): TrackerCost | null {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'bench', 'tracker-cost.js')], { encoding: 'utf8' });
  if (r.status !== 0) {
    notes.push(`in-process tracker cost not measured: ${r.stderr.trim()}`);
    return null;
  }
  const j = JSON.parse(r.stdout) as { calls: number; nsPerCall: Record<string, { addedNs: number }> };
  return { calls: j.calls, random4k: { addedNs: j.nsPerCall['random-4k']!.addedNs }, sequential128k: { addedNs: j.nsPerCall['sequential-128k']!.addedNs }, raw: j.nsPerCall };
}

/* ----------------------------------------------------------------- knobs ---- */

/**
 * Tuning knobs of trackfs strict, each a target of its own, interleaved like the comparison:
 * libuv's threadpool size (image and journal I/O share it), marking ahead of sequential streams
 * (default 4M) and the cluster size (fewer, larger clusters mean fewer journal commits on first
 * touch). trackfs-off is the reference.
 */
async function knobs(opts: Options, notes: string[], startedAt: number): Promise<void> {
  const variants: Target[] = [
    trackfsTarget('strict-uv4', ['--durability', 'strict'], { UV_THREADPOOL_SIZE: '4' }, 'strict, UV_THREADPOOL_SIZE=4'),
    trackfsTarget('strict-uv16', ['--durability', 'strict'], { UV_THREADPOOL_SIZE: '16' }, 'strict, UV_THREADPOOL_SIZE=16 (default)'),
    trackfsTarget('strict-uv64', ['--durability', 'strict'], { UV_THREADPOOL_SIZE: '64' }, 'strict, UV_THREADPOOL_SIZE=64'),
    trackfsTarget('strict-ma0', ['--durability', 'strict', '--mark-ahead', '0'], { UV_THREADPOOL_SIZE: '16' }, 'strict, --mark-ahead 0 (exact)'),
    trackfsTarget('strict-ma1M', ['--durability', 'strict', '--mark-ahead', '1M'], { UV_THREADPOOL_SIZE: '16' }, 'strict, --mark-ahead 1M'),
    trackfsTarget('strict-1M', ['--durability', 'strict', '--cluster-size', '1M'], { UV_THREADPOOL_SIZE: '16' }, 'strict, 1M clusters'),
    trackfsTarget('ordered-1M', ['--durability', 'ordered', '--cluster-size', '1M'], { UV_THREADPOOL_SIZE: '16' }, 'ordered, 1M clusters'),
    trackfsTarget('off', ['--tracking-off'], { UV_THREADPOOL_SIZE: '16' }, 'tracking off'),
  ].filter((t) => !opts.targets || opts.targets.includes(t.name));
  const ids = opts.jobs ?? ['seq-write-first', 'seq-write-direct-first', 'seq-write-direct-rewrite', 'seq-read-hot', 'rand-write-4jobs-rewrite', 'rand-read-4jobs'];
  const jobs = JOBS.filter((j) => ids.includes(j.id));
  const work = mkdtempSync(join(tmpdir(), 'trackfs-bench-knobs-'));
  const undoWork = onCleanup(() => rmSync(work, { recursive: true, force: true }));
  let cells: Map<string, Cell>;
  try {
    const iolog = join(work, 'first-touch.iolog');
    writeFirstTouchLog(iolog, opts.sizeMiB << 20);
    ({ cells } = await runMatrix(variants, jobs, opts, work, iolog));
  } finally {
    rmSync(work, { recursive: true, force: true });
    undoWork();
  }
  const med = (j: string, t: string) => median(cells.get(`${j}\u0000${t}`)?.samples ?? []);
  const names = variants.map((v) => v.name);
  const results = jobs.map((job) => ({
    id: job.id, job: job.name, metric: job.metric,
    variants: Object.fromEntries(names.map((t) => {
      const c = cells.get(`${job.id}\u0000${t}`);
      return [t, { median: round(med(job.id, t), 1), spread: round(spread(c?.samples ?? [])), samples: (c?.samples ?? []).map((v) => round(v, 1)), cpuUsPerOp: round(median(c?.cpuUsPerOp ?? []), 1), vsOff: round(med(job.id, t) / med(job.id, 'off')) }];
    })),
  }));
  const meta = baseMeta(opts, notes, startedAt);
  mkdirSync(opts.out, { recursive: true });
  writeFileSync(join(opts.out, 'knobs.json'), `${JSON.stringify({ meta, variants: variants.map((v) => ({ name: v.name, label: v.label })), results }, null, 2)}\n`);
  const head = `| job | ${variants.map((v) => v.label ?? v.name).join(' | ')} |\n|---|${names.map(() => '---:|').join('')}\n`;
  const rows = results.map((r) => `| ${r.job}, ${r.metric} | ${names.map((t) => { const v = r.variants[t]!; return `${fmt(v.median ?? NaN, r.metric)}${t === 'off' ? '' : ` (${ratio(v.vsOff ?? NaN)})`}`; }).join(' | ')} |`).join('\n');
  const md = `Knobs ${meta.date} (${meta.durationSeconds} s): ${opts.sizeMiB} MiB image, ${opts.reps} interleaved repetitions, medians; in brackets: ratio to tracking off; commit ${meta.commit.slice(0, 10)}.\n\n${head}${rows}\n${notes.map((n) => `\n- ${n}`).join('')}\n`;
  writeFileSync(join(opts.out, 'knobs.md'), md);
  console.log(`\n${md}\nwrote ${opts.out}/knobs.{json,md} in ${meta.durationSeconds} s`);
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  const opts = parseArgs(process.argv.slice(2));
  if (opts.render) return renderOnly(opts.render, opts.out);
  if (process.platform !== 'linux' || process.getuid?.() !== 0) throw new Error('the benchmark mounts FUSE file systems and drops caches: run it as root on Linux');
  const notes = ensureTools();
  const buildDir = mkdtempSync(join(tmpdir(), 'trackfs-bench-bin-'));
  const undo = onCleanup(() => rmSync(buildDir, { recursive: true, force: true }));
  try {
    buildPassthrough(buildDir);
    if (opts.knobs) await knobs(opts, notes, startedAt);
    else await comparison(opts, notes, startedAt);
  } finally {
    runCleanups();
    rmSync(buildDir, { recursive: true, force: true });
    undo();
  }
}

main().catch((e) => {
  console.error(`bench: ${(e as Error).message}`);
  runCleanups();
  process.exit(1);
});
