/**
 * `node dist/bench/native-proto.js [--size MiB] [--runtime s] [--reps N] [--only jobs|cache|follower] [--out DIR]`: the native
 * data path's prototype measured against what it must match, in one run, on the same fio jobs:
 *
 *   native         fuse-native + the native module (test/e2e/native-server.ts), every cluster
 *                  recorded, gates open: reads and rewrites served on the libfuse worker;
 *   js             the same fuse-native server without the module: a plain JavaScript passthrough
 *                  (fs.read/fs.write through libuv's pool, today's shape);
 *   c-libfuse2     bench/passthrough.c, a C libfuse2 passthrough (pread/pwrite), built here.
 *
 * Jobs (fio, psync), after one unmeasured sequential fill of the fresh image: 1 MiB O_DIRECT
 * sequential write, 4 KiB random write qd1 and 4 jobs (buffered: FUSE 7.19 writes through), 4 KiB
 * random read O_DIRECT qd1 and 4 jobs; all time-based. Repetitions interleave the targets; medians are reported,
 * with the server's CPU per operation (utime+stime of the server process / fio's I/O count).
 *
 * Then the page-cache knobs on the native target (none, kernel_cache, auto_cache): a hot re-read
 * (64 MiB read twice by fresh fio runs, the second reported), and whether a read through the mount
 * returns new bytes after the image changed behind it: at once, after the server reports a new
 * mtime (what resume would do), and after the attribute timeout (1 s) has passed too.
 *
 * Then the stream follower: a sequential first-touch stream tracked by trackfs's Journal and
 * ChangeTracker (4 MiB mark-ahead), by JavaScript alone, by the native side with the shared
 * follower, and by the native side with JavaScript's own follower.
 *
 * Writes native-proto.json and native-proto.md to --out (default bench/results). Root only (mounts).
 */
import { execFileSync, fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPassthrough } from './c-peer.js';
import { cpuTicks, ticksPerSecond } from './procfs.js';
import { onPath } from './tools.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVER = fileURLToPath(new URL('../test/e2e/native-server.js', import.meta.url));
const CS = 64 * 1024;

const argv = process.argv.slice(2);
const opt = (name: string, dflt: number) => { const i = argv.indexOf(name); return i >= 0 ? Number(argv[i + 1]) : dflt; };
const SIZE_MIB = opt('--size', 256);
const RUNTIME = opt('--runtime', 5);
const REPS = opt('--reps', 2);
/** --only jobs | cache | follower: one part of the run (the others' tables are left out). */
const ONLY = (() => { const i = argv.indexOf('--only'); return i >= 0 ? argv[i + 1]! : null; })();
const OUT = (() => { const i = argv.indexOf('--out'); return i >= 0 ? argv[i + 1]! : join(ROOT, 'bench', 'results'); })();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mounted = (p: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === p);

/* ------------------------------------------------------------------ servers ---- */

interface Served {
  pid: number;
  file: string;
  call?(cmd: string, args?: Record<string, unknown>): Promise<unknown>;
  stop(): Promise<void>;
}

const live = new Set<{ pid: number; mnt: string }>();
function forceStopAll(): void {
  for (const s of live) {
    if (mounted(s.mnt)) spawnSync('fusermount', ['-uz', s.mnt], { stdio: 'ignore' });
    try { process.kill(s.pid, 'SIGKILL'); } catch { /* gone */ }
  }
  live.clear();
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => { forceStopAll(); process.exit(130); });

async function stopChild(child: ChildProcess, mnt: string, entry: { pid: number; mnt: string }): Promise<void> {
  if (mounted(mnt)) spawnSync('fusermount', ['-u', mnt], { stdio: 'ignore' });
  child.kill('SIGTERM');
  for (let i = 0; i < 200 && child.exitCode === null && child.signalCode === null; i++) await sleep(50);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (mounted(mnt)) spawnSync('fusermount', ['-uz', mnt], { stdio: 'ignore' });
  live.delete(entry);
}

async function startNodeServer(
  image: string,
  mnt: string,
  fastPath: boolean,
  extraOptions: string[] = [],
  more: Record<string, unknown> = {},
): Promise<Served> {
  const cfg = {
    image,
    mountpoint: mnt,
    size: SIZE_MIB << 20,
    clusterSize: CS,
    fastPath,
    tracker: fastPath ? 'set' : 'none',
    openGates: fastPath,
    extraOptions,
    ...more,
  };
  const child = fork(SERVER, [JSON.stringify(cfg)], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: { ...process.env, UV_THREADPOOL_SIZE: '16' },
  });
  const entry = { pid: child.pid!, mnt };
  live.add(entry);
  let next = 0;
  const pending = new Map<number, (m: { ok: boolean; value?: unknown; error?: string }) => void>();
  const ready = new Promise<void>((resolve, reject) => {
    child.on('message', (m: { ready?: boolean; error?: string; id?: number; ok?: boolean; value?: unknown }) => {
      if (m.ready === true) return resolve();
      if (m.ready === false) return reject(new Error(m.error));
      pending.get(m.id!)?.(m as { ok: boolean });
      pending.delete(m.id!);
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  await ready;
  const call = (cmd: string, args: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve, reject) => {
      const id = ++next;
      pending.set(id, (m) => (m.ok ? resolve(m.value) : reject(new Error(m.error))));
      child.send({ id, cmd, ...args });
    });
  if (fastPath && cfg.tracker === 'set') await call('recordAll');
  return { pid: child.pid!, file: join(mnt, 'volume'), call, stop: () => stopChild(child, mnt, entry) };
}

async function startPassthrough(binary: string, image: string, mnt: string): Promise<Served> {
  const child = spawn(binary, [image, mnt, '-f', '-o', 'big_writes,auto_unmount,default_permissions,max_read=131072'], { stdio: 'ignore' });
  const entry = { pid: child.pid!, mnt };
  live.add(entry);
  for (let i = 0; i < 200 && !mounted(mnt); i++) await sleep(50);
  if (!mounted(mnt)) throw new Error('passthrough did not mount');
  return { pid: child.pid!, file: join(mnt, 'volume'), stop: () => stopChild(child, mnt, entry) };
}

/* --------------------------------------------------------------------- fio ---- */

interface Job { id: string; name: string; metric: 'IOPS' | 'MB/s'; args: string[]; timeBased: boolean }
const JOBS: Job[] = [
  { id: 'seq-write-1m-direct', name: '1 MiB seq write O_DIRECT', metric: 'MB/s', args: ['--rw=write', '--bs=1M', '--direct=1'], timeBased: true },
  { id: 'rand-write-qd1', name: '4 KiB rand write qd1 (rewrites)', metric: 'IOPS', args: ['--rw=randwrite', '--bs=4k'], timeBased: true },
  { id: 'rand-write-4jobs', name: '4 KiB rand write 4 jobs (rewrites)', metric: 'IOPS', args: ['--rw=randwrite', '--bs=4k', '--numjobs=4', '--group_reporting'], timeBased: true },
  { id: 'rand-read-qd1', name: '4 KiB rand read O_DIRECT qd1', metric: 'IOPS', args: ['--rw=randread', '--bs=4k', '--direct=1'], timeBased: true },
  { id: 'rand-read-4jobs', name: '4 KiB rand read O_DIRECT 4 jobs', metric: 'IOPS', args: ['--rw=randread', '--bs=4k', '--direct=1', '--numjobs=4', '--group_reporting'], timeBased: true },
];

function fioJob(file: string, job: Job): { value: number; ops: number } {
  const extra = [`--size=${SIZE_MIB}M`, ...(job.timeBased ? ['--time_based=1', `--runtime=${RUNTIME}`] : ['--runtime=300'])];
  const r = spawnSync('fio', ['--name=bench', `--filename=${file}`, '--ioengine=psync', '--output-format=json', ...job.args, ...extra], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`fio ${job.id}: ${r.stderr.trim().split('\n').slice(-1)[0]}`);
  type Side = { bw_bytes: number; iops: number; total_ios: number };
  const j = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { jobs: { read: Side; write: Side }[] };
  const side = job.args.some((a) => /--rw=(rand)?read/.test(a)) ? j.jobs[0]!.read : j.jobs[0]!.write;
  return { value: job.metric === 'MB/s' ? side.bw_bytes / 1e6 : side.iops, ops: side.total_ios };
}

/** Not measured: fills the fresh image once, so reads read data and the file system has its blocks. */
const FILL: Job = { id: 'fill', name: 'fill', metric: 'MB/s', args: ['--rw=write', '--bs=1M', '--direct=1'], timeBased: false };


const median = (xs: number[]) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length ? (s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2) : NaN;
};

/* -------------------------------------------------------------------- cache ---- */

interface CacheResult {
  options: string;
  hotReadMBs: number;
  hotReadRequests: number;
  /** Reads by a new open after the image changed behind the mount. */
  newBytesAtOnce: boolean;
  newBytesAfterMtime: boolean;
  newBytesAfterAttrTimeout: boolean;
  /** Buffered reads through a descriptor opened before the change, at once and after it all. */
  openFdAtOnce: boolean;
  openFdLater: boolean;
}

/** A child that opens `file`, reads 4 KiB at `at` (buffered), and reads it again on request. */
function openHolder(file: string, at: number): { ready: Promise<void>; readAgain(): Promise<Buffer>; close(): void } {
  const script = `const fs = require('fs'); const fd = fs.openSync(process.argv[1], 'r'); const b = Buffer.alloc(4096);
    const rd = () => { fs.readSync(fd, b, 0, 4096, Number(process.argv[2])); process.stdout.write(b.toString('hex') + '\\n'); };
    rd(); require('readline').createInterface({ input: process.stdin }).on('line', rd);`;
  const child = spawn(process.execPath, ['-e', script, file, String(at)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let wake: (() => void) | null = null;
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { lines.push(...d.split('\n').filter(Boolean)); wake?.(); });
  const nextLine = async (): Promise<string> => {
    while (lines.length === 0) await new Promise<void>((r) => { wake = r; });
    return lines.shift()!;
  };
  return {
    ready: nextLine().then(() => {}),
    readAgain: async () => { child.stdin!.write('\n'); return Buffer.from(await nextLine(), 'hex'); },
    close: () => child.kill('SIGKILL'),
  };
}

function ddRead(file: string, offset: number, length: number, direct = false): Buffer {
  return execFileSync('dd', [`if=${file}`, `bs=${length}`, 'count=1', `skip=${offset}`, `iflag=skip_bytes,fullblock${direct ? ',direct' : ''}`, 'status=none'], { maxBuffer: 64 << 20 });
}

function ddWriteImage(image: string, offset: number, data: Buffer): void {
  execFileSync('dd', [`of=${image}`, `bs=${data.length}`, 'count=1', `seek=${offset}`, 'oflag=seek_bytes', 'conv=notrunc', 'status=none'], { input: data });
}

async function cacheKnob(work: string, options: string[]): Promise<CacheResult> {
  const dir = mkdtempSync(join(work, 'cache-'));
  const image = join(dir, 'image.raw');
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  execFileSync('truncate', ['-s', `${SIZE_MIB}M`, image]);
  const s = await startNodeServer(image, mnt, true, options);
  try {
    fioJob(s.file, FILL); // data in the image
    // --invalidate=0: fio drops the file's cached pages before a job by default.
    const readJob: Job = { id: 'hot', name: 'hot', metric: 'MB/s', args: ['--rw=read', '--bs=1M', '--size=64M', '--invalidate=0'], timeBased: false };
    const first = spawnSync('fio', ['--name=hot', `--filename=${s.file}`, '--ioengine=psync', '--output-format=json', ...readJob.args], { encoding: 'utf8' });
    if (first.status !== 0) throw new Error(first.stderr);
    type C = { native: { reads: number }; js: { reads: number } };
    const served = async () => { const c = (await s.call!('counters')) as C; return c.native.reads + c.js.reads; };
    const before = await served();
    const hot = spawnSync('fio', ['--name=hot', `--filename=${s.file}`, '--ioengine=psync', '--output-format=json', ...readJob.args], { encoding: 'utf8' });
    const hotMBs = (JSON.parse(hot.stdout.slice(hot.stdout.indexOf('{'))) as { jobs: { read: { bw_bytes: number } }[] }).jobs[0]!.read.bw_bytes / 1e6;
    const hotRequests = (await served()) - before;

    // The image changes behind the mount (an offline change while ejected).
    const at = 5 * CS;
    const holder = openHolder(s.file, at); // a reader whose descriptor stays open across the change
    await holder.ready;
    ddRead(s.file, at, 4096); // cached now
    const fresh = Buffer.alloc(4096, 0x5a);
    ddWriteImage(image, at, fresh);
    const openFd = (await holder.readAgain()).equals(fresh); // before any new open
    const atOnce = ddRead(s.file, at, 4096).equals(fresh);
    await s.call!('touch'); // the server reports a new mtime, as resume would
    const afterMtime = ddRead(s.file, at, 4096).equals(fresh);
    await sleep(1_100); // libfuse's and the kernel's attribute caches (1 s) expire
    const afterTimeout = ddRead(s.file, at, 4096).equals(fresh);
    const openFdLater = (await holder.readAgain()).equals(fresh);
    holder.close();
    return { options: options.join(',') || '(none)', hotReadMBs: hotMBs, hotReadRequests: hotRequests, newBytesAtOnce: atOnce, newBytesAfterMtime: afterMtime, newBytesAfterAttrTimeout: afterTimeout, openFdAtOnce: openFd, openFdLater };
  } finally {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/* ----------------------------------------------------------------- follower ---- */

interface FollowerResult {
  variant: string;
  mbs: number;
  writes: number;
  native: number;
  handoff: number;
  waited: number;
  markedPastEnd: number;
}

/**
 * One sequential first-touch stream (1 MiB O_DIRECT writes, i.e. 128 KiB requests) over fresh
 * space, tracked by trackfs's Journal (strict) and ChangeTracker with the default 4 MiB mark-ahead:
 * JavaScript alone; the native side with the follower it shares with JavaScript; the native side
 * with JavaScript keeping its own follower (blind to the native writes).
 */
async function follower(work: string): Promise<FollowerResult[]> {
  const out: FollowerResult[] = [];
  const streamMiB = Math.min(128, SIZE_MIB / 2);
  for (const v of [{ name: 'javascript only', fastPath: false }, { name: 'native, shared follower', fastPath: true, follower: 'native' }, { name: 'native, own JS follower', fastPath: true, follower: 'js' }]) {
    const dir = mkdtempSync(join(work, 'follow-'));
    const image = join(dir, 'image.raw');
    mkdirSync(join(dir, 'mnt'));
    execFileSync('truncate', ['-s', `${SIZE_MIB}M`, image]);
    const s = await startNodeServer(image, join(dir, 'mnt'), v.fastPath, [], { tracker: 'journal', journal: join(dir, 'journal'), markAhead: 4 << 20, follower: v.follower ?? 'js', openGates: v.fastPath });
    try {
      const r = spawnSync('fio', ['--name=stream', `--filename=${s.file}`, '--ioengine=psync', '--output-format=json', '--rw=write', '--bs=1M', '--direct=1', `--size=${streamMiB}M`], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr);
      const mbs = (JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { jobs: { write: { bw_bytes: number } }[] }).jobs[0]!.write.bw_bytes / 1e6;
      type C = { native: { writes: number; forwarded: { handoff: number } } | null; js: { writes: number; firstTouches: number } };
      const c = (await s.call!('counters')) as C;
      const marked = (await s.call!('marked')) as number[];
      const nativeWrites = c.native?.writes ?? 0;
      out.push({
        variant: v.name,
        mbs,
        writes: nativeWrites + c.js.writes,
        native: nativeWrites,
        handoff: c.native?.forwarded.handoff ?? 0,
        waited: c.js.firstTouches,
        markedPastEnd: ((Math.max(...marked) + 1) * CS - (streamMiB << 20)) / (1 << 20),
      });
    } finally {
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return out;
}

/* --------------------------------------------------------------------- main ---- */

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root (it mounts)');
  if (!onPath('fio')) throw new Error('fio is required');
  if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: npx tsc -p .`);
  // The same peer as the main benchmark's, built the same way (argv, no shell).
  const peer = await buildPassthrough();
  if ('error' in peer) throw new Error(peer.error);
  const binary = peer.binary;
  const work = mkdtempSync(join(tmpdir(), 'trackfs-native-proto-'));
  const ticks = ticksPerSecond();

  const targets: { name: string; start(image: string, mnt: string): Promise<Served> }[] = [
    { name: 'native', start: (i, m) => startNodeServer(i, m, true) },
    { name: 'js', start: (i, m) => startNodeServer(i, m, false) },
    { name: 'c-libfuse2', start: (i, m) => startPassthrough(binary, i, m) },
  ];
  const samples = new Map<string, { v: number[]; cpu: number[] }>();
  const cell = (j: string, t: string) => {
    const k = `${j}|${t}`;
    if (!samples.has(k)) samples.set(k, { v: [], cpu: [] });
    return samples.get(k)!;
  };
  try {
    for (let rep = 0; rep < (ONLY === null || ONLY === 'jobs' ? REPS : 0); rep++) {
      const order = targets.map((_, i) => targets[(i + rep) % targets.length]!);
      for (const t of order) {
        const dir = join(work, `${t.name}-${rep}`);
        mkdirSync(join(dir, 'mnt'), { recursive: true });
        const image = join(dir, 'image.raw');
        execFileSync('truncate', ['-s', `${SIZE_MIB}M`, image]);
        const s = await t.start(image, join(dir, 'mnt'));
        try {
          fioJob(s.file, FILL);
          for (const job of JOBS) {
            const before = cpuTicks(s.pid);
            const r = fioJob(s.file, job);
            const cpuUs = ((cpuTicks(s.pid) - before) / ticks) * 1e6 / Math.max(1, r.ops);
            const c = cell(job.id, t.name);
            c.v.push(r.value);
            c.cpu.push(cpuUs);
            console.log(`rep ${rep + 1}/${REPS} ${t.name.padEnd(11)} ${job.name.padEnd(36)} ${r.value.toFixed(0).padStart(8)} ${job.metric}  ${cpuUs.toFixed(1)} µs CPU/op`);
          }
          if (s.call) {
            const c = (await s.call('counters')) as { native: { reads: number; writes: number; forwardedReads: number; forwardedWrites: number } | null };
            if (c.native) console.log(`            native counters: ${c.native.reads} reads, ${c.native.writes} writes served; ${c.native.forwardedReads + c.native.forwardedWrites} forwarded`);
          }
        } finally {
          await s.stop();
          rmSync(dir, { recursive: true, force: true });
        }
      }
    }
    const cache: CacheResult[] = [];
    for (const o of ONLY !== null && ONLY !== 'cache' ? [] : [[], ['kernel_cache'], ['auto_cache'], ['auto_cache', 'ac_attr_timeout=0']]) {
      const r = await cacheKnob(work, o);
      cache.push(r);
      console.log(`cache ${r.options.padEnd(12)} hot re-read ${r.hotReadMBs.toFixed(0)} MB/s, ${r.hotReadRequests} read requests reached the server; new bytes after a change behind the mount: at once ${r.newBytesAtOnce}, after a new mtime ${r.newBytesAfterMtime}, after 1 s more ${r.newBytesAfterAttrTimeout}; through a descriptor open before the change: ${r.openFdAtOnce}, later ${r.openFdLater}`);
    }

    const follow = ONLY === null || ONLY === 'follower' ? await follower(work) : [];
    for (const f of follow) console.log(`follower ${f.variant.padEnd(24)} ${f.mbs.toFixed(0)} MB/s; ${f.writes} requests: ${f.native} native, ${f.handoff} handed off, ${f.waited} waited for a commit; marked ${f.markedPastEnd.toFixed(1)} MiB past the end`);

    const table = JOBS.map((j) => {
      const m = (t: string) => median(cell(j.id, t).v);
      const cpu = (t: string) => median(cell(j.id, t).cpu);
      return { id: j.id, name: j.name, metric: j.metric, native: m('native'), js: m('js'), c: m('c-libfuse2'), nativeVsC: m('native') / m('c-libfuse2'), jsVsC: m('js') / m('c-libfuse2'), nativeVsJs: m('native') / m('js'), cpu: { native: cpu('native'), js: cpu('js'), c: cpu('c-libfuse2') } };
    });
    const f = (v: number, metric: string) => (metric === 'IOPS' ? `${(v / 1000).toFixed(1)}K` : v.toFixed(0));
    const md = [
      `# Native data path prototype (${new Date().toISOString().slice(0, 10)})`,
      '',
      `${SIZE_MIB} MiB image, ${RUNTIME} s random jobs, ${REPS} repetitions interleaved (medians); ${cpus().length} CPUs, kernel ${release()}, Node ${process.version}. Produced by bench/native-proto.ts.`,
      '',
      '| job | native | js | C libfuse2 | native/C | js/C | native/js | CPU µs/op native, js, C |',
      '|---|---|---|---|---|---|---|---|',
      ...table.map((r) => `| ${r.name} (${r.metric}) | ${f(r.native, r.metric)} | ${f(r.js, r.metric)} | ${f(r.c, r.metric)} | ${r.nativeVsC.toFixed(2)} | ${r.jsVsC.toFixed(2)} | ${r.nativeVsJs.toFixed(2)} | ${r.cpu.native.toFixed(1)}, ${r.cpu.js.toFixed(1)}, ${r.cpu.c.toFixed(1)} |`),
      '',
      'After the image changed behind the mount, does a read return the new bytes? A new open: at once, after the server reports a new mtime (what resume would do), after 1 s more (attribute caches expire); a buffered read through a descriptor opened before the change: at once (before any new open), and after all that.',
      '',
      '| page cache option (native) | hot re-read of 64 MiB, MB/s | its read requests at the server | new open: at once | after a new mtime | after 1 s more | open descriptor: at once | later |',
      '|---|---|---|---|---|---|---|---|',
      ...cache.map((c) => `| ${c.options} | ${c.hotReadMBs.toFixed(0)} | ${c.hotReadRequests} | ${c.newBytesAtOnce} | ${c.newBytesAfterMtime} | ${c.newBytesAfterAttrTimeout} | ${c.openFdAtOnce} | ${c.openFdLater} |`),
      '',
      'A sequential first-touch stream (1 MiB O_DIRECT, 128 KiB requests) tracked by the Journal (strict) with the default 4 MiB mark-ahead:',
      '',
      '| variant | MB/s | requests | served natively | handed off (follower acts) | waited for a commit | marked past the end, MiB |',
      '|---|---|---|---|---|---|---|',
      ...follow.map((f) => `| ${f.variant} | ${f.mbs.toFixed(0)} | ${f.writes} | ${f.native} | ${f.handoff} | ${f.waited} | ${f.markedPastEnd.toFixed(1)} |`),
      '',
    ].join('\n');
    mkdirSync(OUT, { recursive: true });
    writeFileSync(join(OUT, 'native-proto.json'), `${JSON.stringify({ at: new Date().toISOString(), sizeMiB: SIZE_MIB, runtime: RUNTIME, reps: REPS, table, samples: Object.fromEntries(samples), cache, follower: follow }, null, 2)}\n`);
    writeFileSync(join(OUT, 'native-proto.md'), md);
    console.log(`\n${md}`);
  } finally {
    forceStopAll();
    rmSync(work, { recursive: true, force: true });
    peer.remove();
  }
}

main().catch((e: Error) => {
  forceStopAll();
  console.error(`native-proto: ${e.message}`);
  process.exit(1);
});
