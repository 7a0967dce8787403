/**
 * `npm run bench [-- --quick] [-- --reps N] [-- --targets a,b]`: what tracking costs, side by side
 * with the peers a user would pick instead, measured in one run.
 *
 * Targets (each on its own fresh copy of a sparse image): fio straight on the image file
 * ("direct"); trackfs strict, ordered, and with tracking off (a hidden switch, so the cost of
 * tracking itself shows); a C libfuse2 passthrough (bench/passthrough.c); qemu-storage-daemon's
 * FUSE export. Peers that cannot be installed are skipped with a message. Repetitions are
 * interleaved (target order rotates per repetition) so drift on a noisy machine hits all alike.
 *
 * Writes bench/results/latest.json (medians, spread, ratios), latest.md (the table) and
 * latest.svg (a chart). A slow result is a finding: nothing is filtered.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'trackfs.js');
const RESULTS = join(ROOT, 'bench', 'results');

interface Options { quick: boolean; reps: number; targets: string[] | null; sizeMiB: number; runtime: number }

function parseArgs(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const get = (name: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
  return {
    quick,
    reps: Number(get('--reps') ?? 2),
    targets: get('--targets')?.split(',') ?? null,
    sizeMiB: quick ? 256 : 1024,
    runtime: quick ? 3 : 8,
  };
}

/* -------------------------------------------------------------- installs ---- */

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function aptInstall(pkgs: string[]): boolean {
  if (process.getuid?.() !== 0) return false;
  const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status === 0) return true;
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
  return spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
}

function ensureTools(): string[] {
  const notes: string[] = [];
  if (!have('fio') && !aptInstall(['fio'])) throw new Error('fio is required (apt-get install fio)');
  if (!existsSync('/usr/include/fuse/fuse.h') && !aptInstall(['libfuse-dev', 'pkg-config', 'gcc'])) notes.push('C libfuse2 passthrough skipped: libfuse-dev could not be installed');
  if (!have('qemu-storage-daemon') && !aptInstall(['qemu-system-common', 'libfuse3-3'])) notes.push('qemu-storage-daemon skipped: qemu-system-common could not be installed');
  return notes;
}

/* --------------------------------------------------------------- targets ---- */

interface Served { file: string; pid: number | null; stop(): Promise<void> }
interface Target { name: string; available(): string | null; start(image: string, dir: string): Promise<Served> }

function sleep(ms: number): Promise<void> { return new Promise((r) => setTimeout(r, ms)); }

async function waitMounted(path: string, child: ChildProcess | null, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${path} `)) return;
    if (child && child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    await sleep(50);
  }
  throw new Error(`${path} did not get mounted`);
}

async function stopChild(child: ChildProcess, mountpoint: string): Promise<void> {
  spawnSync('fusermount', ['-u', mountpoint], { stdio: 'ignore' });
  child.kill('SIGTERM');
  const until = Date.now() + 10_000;
  while (child.exitCode === null && child.signalCode === null && Date.now() < until) await sleep(50);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  spawnSync('fusermount', ['-uz', mountpoint], { stdio: 'ignore' });
}

function trackfsTarget(name: string, args: string[]): Target {
  return {
    name,
    available: () => null,
    async start(image, dir) {
      const mnt = join(dir, 'mnt');
      mkdirSync(mnt, { recursive: true });
      const env = { ...process.env, TRACKFS_RUNTIME_DIR: join(dir, 'run') };
      execFileSync(process.execPath, [BIN, 'mount', image, mnt, '--log-level', 'warn', ...args], { env, stdio: ['ignore', 'ignore', 'inherit'] });
      const status = JSON.parse(execFileSync(process.execPath, [BIN, 'status', mnt, '--json'], { env }).toString()) as { pid: number };
      return {
        file: join(mnt, 'volume'),
        pid: status.pid,
        stop: async () => { spawnSync(process.execPath, [BIN, 'unmount', '--lazy', mnt], { env, stdio: 'ignore' }); },
      };
    },
  };
}

const passthroughBinary = join(tmpdir(), 'trackfs-bench-passthrough');

const TARGETS: Target[] = [
  {
    name: 'direct',
    available: () => null,
    async start(image) { return { file: image, pid: null, stop: async () => {} }; },
  },
  trackfsTarget('trackfs-strict', ['--durability', 'strict']),
  trackfsTarget('trackfs-ordered', ['--durability', 'ordered']),
  trackfsTarget('trackfs-off', ['--tracking-off']),
  {
    name: 'c-libfuse2',
    available() {
      if (existsSync(passthroughBinary)) return null;
      const r = spawnSync('sh', ['-c', `cc -O2 -Wall -o ${passthroughBinary} ${join(ROOT, 'bench', 'passthrough.c')} $(pkg-config --cflags --libs fuse)`], { encoding: 'utf8' });
      return r.status === 0 ? null : `cannot build bench/passthrough.c: ${r.stderr.trim().split('\n')[0]}`;
    },
    async start(image, dir) {
      const mnt = join(dir, 'mnt');
      mkdirSync(mnt, { recursive: true });
      const child = spawn(passthroughBinary, [image, mnt, '-f', '-o', 'big_writes,auto_unmount'], { stdio: 'ignore' });
      await waitMounted(mnt, child);
      return { file: join(mnt, 'volume'), pid: child.pid ?? null, stop: () => stopChild(child, mnt) };
    },
  },
  {
    name: 'qsd',
    available: () => (have('qemu-storage-daemon') ? null : 'qemu-storage-daemon is not installed'),
    async start(image, dir) {
      const file = join(dir, 'export.img');
      writeFileSync(file, '');
      const child = spawn('qemu-storage-daemon', [
        '--blockdev', `driver=file,node-name=file0,filename=${image},cache.direct=off`,
        '--blockdev', 'driver=raw,node-name=raw0,file=file0',
        '--export', `type=fuse,id=exp0,node-name=raw0,mountpoint=${file},writable=on`,
      ], { stdio: 'ignore' });
      await waitMounted(file, child);
      return { file, pid: child.pid ?? null, stop: () => stopChild(child, file) };
    },
  },
];

/* ------------------------------------------------------------------ jobs ---- */

interface Job { name: string; metric: 'MB/s' | 'IOPS'; args: string[]; cold?: boolean; rewrite?: boolean }

const JOBS: Job[] = [
  { name: 'seq write 1M buffered + fsync (first touch)', metric: 'MB/s', args: ['--rw=write', '--bs=1M', '--end_fsync=1'] },
  { name: 'seq write 1M buffered + fsync (rewrite)', metric: 'MB/s', args: ['--rw=write', '--bs=1M', '--end_fsync=1'], rewrite: true },
  { name: 'seq write 1M O_DIRECT', metric: 'MB/s', args: ['--rw=write', '--bs=1M', '--direct=1'] },
  { name: 'seq read 1M cold', metric: 'MB/s', args: ['--rw=read', '--bs=1M'], cold: true },
  { name: 'seq read 1M hot', metric: 'MB/s', args: ['--rw=read', '--bs=1M'] },
  { name: 'rand write 4K qd1', metric: 'IOPS', args: ['--rw=randwrite', '--bs=4k'] },
  { name: 'rand read 4K qd1', metric: 'IOPS', args: ['--rw=randread', '--bs=4k'] },
  { name: 'rand write 4K 4 jobs', metric: 'IOPS', args: ['--rw=randwrite', '--bs=4k', '--numjobs=4', '--group_reporting'] },
  { name: 'rand read 4K 4 jobs', metric: 'IOPS', args: ['--rw=randread', '--bs=4k', '--numjobs=4', '--group_reporting'] },
  { name: '4K write + fdatasync', metric: 'IOPS', args: ['--rw=randwrite', '--bs=4k', '--fdatasync=1'] },
];

function cpuTicks(pid: number | null): number {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime, clock ticks
  } catch {
    return 0;
  }
}

function fio(file: string, job: Job, opts: Options): { value: number; ops: number } {
  const args = ['--name=bench', `--filename=${file}`, `--size=${opts.sizeMiB}M`, '--ioengine=psync', `--runtime=${opts.runtime}`,
    '--output-format=json', ...job.args];
  // Time-limited random jobs; sequential ones cover the file once.
  if (job.args.some((a) => a.startsWith('--rw=rand'))) args.push('--time_based=1');
  const r = spawnSync('fio', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`fio ${job.name} on ${file}: ${r.stderr.trim().split('\n').slice(-1)[0]}`);
  const j = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { jobs: { read: { bw_bytes: number; iops: number; total_ios: number }; write: { bw_bytes: number; iops: number; total_ios: number } }[] };
  const side = job.args.some((a) => /--rw=(rand)?read/.test(a)) ? j.jobs[0]!.read : j.jobs[0]!.write;
  return { value: job.metric === 'MB/s' ? side.bw_bytes / 1e6 : side.iops, ops: side.total_ios };
}

function dropCaches(): void {
  spawnSync('sync');
  try { writeFileSync('/proc/sys/vm/drop_caches', '3'); } catch { /* not root: the "cold" read is warm */ }
}

/* --------------------------------------------------------------- results ---- */

interface Cell { samples: number[]; cpuUsPerOp: number[] }
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length ? (s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2) : NaN; };
const spread = (xs: number[]) => (xs.length ? (Math.max(...xs) - Math.min(...xs)) / median(xs) : NaN);

function fmt(v: number, metric: string): string {
  if (!Number.isFinite(v)) return '-';
  return metric === 'IOPS' ? (v >= 1000 ? `${(v / 1000).toFixed(1)}K` : v.toFixed(0)) : v.toFixed(0);
}

function svgChart(jobs: Job[], targets: string[], med: (j: string, t: string) => number): string {
  const rowH = 16 * targets.length + 14;
  const width = 900;
  const left = 300;
  const colors = ['#555', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e', '#d62728'];
  let y = 40;
  const parts: string[] = [];
  for (const job of jobs) {
    const base = med(job.name, 'direct');
    const vals = targets.map((t) => med(job.name, t) / base);
    const max = Math.max(1, ...vals.filter(Number.isFinite));
    parts.push(`<text x="8" y="${y + 12}" font-size="12">${job.name} (${job.metric}, vs direct)</text>`);
    targets.forEach((_t, i) => {
      const v = vals[i]!;
      const w = Number.isFinite(v) ? ((width - left - 60) * v) / max : 0;
      parts.push(`<rect x="${left}" y="${y + i * 16}" width="${w.toFixed(1)}" height="13" fill="${colors[i % colors.length]}"/>`);
      parts.push(`<text x="${left + w + 4}" y="${y + i * 16 + 11}" font-size="10">${Number.isFinite(v) ? v.toFixed(2) : 'n/a'}</text>`);
    });
    y += rowH;
  }
  const legend = targets.map((t, i) => `<rect x="${8 + i * 140}" y="8" width="12" height="12" fill="${colors[i % colors.length]}"/><text x="${24 + i * 140}" y="18" font-size="12">${t}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 10}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>${legend}${parts.join('')}</svg>\n`;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** Mount time and memory of trackfs over a 16 TiB sparse image, before and after many random writes. */
async function scaleTest(opts: Options): Promise<{ imageBytes: number; mountMs: number; rssAfterMountMiB: number; rssAfterWritesMiB: number; writes: number; writeIops: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'trackfs-bench-scale-'));
  const image = join(dir, 'huge.raw');
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  const env = { ...process.env, TRACKFS_RUNTIME_DIR: join(dir, 'run') };
  try {
    // ext4 caps a file just below 16 TiB (4 KiB blocks): take the largest the file system allows.
    let size = 16 * 1024 ** 4;
    for (;;) {
      if (spawnSync('truncate', ['-s', String(size), image]).status === 0) break;
      size -= 1024 * 1024;
      if (size < 15 * 1024 ** 4) throw new Error('cannot create a ~16 TiB sparse file here');
    }
    const t0 = process.hrtime.bigint();
    execFileSync(process.execPath, [BIN, 'mount', image, mnt, '--log-level', 'warn'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    const mountMs = Number((process.hrtime.bigint() - t0) / 1_000_000n);
    const pid = (JSON.parse(execFileSync(process.execPath, [BIN, 'status', mnt, '--json'], { env }).toString()) as { pid: number }).pid;
    const rssAfterMountMiB = rssMiB(pid);
    const writes = opts.quick ? 50_000 : 1_000_000;
    const r = spawnSync('fio', ['--name=scale', `--filename=${join(mnt, 'volume')}`, '--rw=randwrite', '--bs=4k', '--ioengine=psync',
      `--number_ios=${writes}`, `--size=${size}`, '--norandommap', '--randrepeat=0', '--output-format=json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const iops = r.status === 0 ? (JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { jobs: { write: { iops: number } }[] }).jobs[0]!.write.iops : NaN;
    const rssAfterWritesMiB = rssMiB(pid);
    spawnSync(process.execPath, [BIN, 'unmount', mnt], { env, stdio: 'ignore' });
    return { imageBytes: size, mountMs, rssAfterMountMiB, rssAfterWritesMiB, writes, writeIops: iops };
  } finally {
    spawnSync(process.execPath, [BIN, 'unmount', '--lazy', mnt], { env, stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (process.platform !== 'linux' || process.getuid?.() !== 0) throw new Error('the benchmark mounts FUSE file systems and drops caches: run it as root on Linux');
  const notes = ensureTools();
  const targets = TARGETS.filter((t) => !opts.targets || opts.targets.includes(t.name)).filter((t) => {
    const why = t.available();
    if (why) notes.push(`${t.name} skipped: ${why}`);
    return !why;
  });
  for (const n of notes) console.log(`bench: ${n}`);
  const cells = new Map<string, Cell>();
  const cell = (j: string, t: string) => {
    const k = `${j}\u0000${t}`;
    if (!cells.has(k)) cells.set(k, { samples: [], cpuUsPerOp: [] });
    return cells.get(k)!;
  };
  const work = mkdtempSync(join(tmpdir(), 'trackfs-bench-'));
  const ticksPerSecond = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);
  try {
    for (let rep = 0; rep < opts.reps; rep++) {
      // Rotate the order each repetition: drift on a noisy machine then hits every target.
      const order = targets.map((_, i) => targets[(i + rep) % targets.length]!);
      for (const t of order) {
        const dir = join(work, `${t.name}-${rep}`);
        mkdirSync(dir);
        const image = join(dir, 'image.raw');
        execFileSync('truncate', ['-s', `${opts.sizeMiB}M`, image]);
        const served = await t.start(image, dir);
        try {
          for (const job of JOBS) {
            if (job.cold) dropCaches();
            const before = cpuTicks(served.pid);
            const r = fio(served.file, job, opts);
            const cpu = ((cpuTicks(served.pid) - before) / ticksPerSecond) * 1e6;
            cell(job.name, t.name).samples.push(r.value);
            if (served.pid && r.ops > 0) cell(job.name, t.name).cpuUsPerOp.push(cpu / r.ops);
            console.log(`rep ${rep + 1}/${opts.reps} ${t.name.padEnd(16)} ${job.name.padEnd(44)} ${fmt(r.value, job.metric).padStart(7)} ${job.metric}`);
          }
        } finally {
          await served.stop();
          rmSync(dir, { recursive: true, force: true });
        }
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const scale = opts.targets && !opts.targets.includes('trackfs-strict') ? null : await scaleTest(opts);
  if (scale) console.log(`16 TiB sparse image: mount ${scale.mountMs} ms, RSS after mount ${scale.rssAfterMountMiB} MiB, after ${scale.writes} random 4K writes ${scale.rssAfterWritesMiB} MiB (${scale.writeIops.toFixed(0)} IOPS)`);

  const names = targets.map((t) => t.name);
  const med = (j: string, t: string) => median(cells.get(`${j}\u0000${t}`)?.samples ?? []);
  const results = JOBS.map((job) => ({
    job: job.name,
    metric: job.metric,
    targets: Object.fromEntries(names.map((t) => {
      const c = cells.get(`${job.name}\u0000${t}`);
      return [t, { median: med(job.name, t), spread: spread(c?.samples ?? []), samples: c?.samples ?? [], cpuUsPerOp: median(c?.cpuUsPerOp ?? []) }];
    })),
    ratios: {
      strictVsDirect: med(job.name, 'trackfs-strict') / med(job.name, 'direct'),
      strictVsQsd: med(job.name, 'trackfs-strict') / med(job.name, 'qsd'),
      strictVsOff: med(job.name, 'trackfs-strict') / med(job.name, 'trackfs-off'),
      orderedVsOff: med(job.name, 'trackfs-ordered') / med(job.name, 'trackfs-off'),
    },
  }));
  mkdirSync(RESULTS, { recursive: true });
  const meta = { scale, date: new Date().toISOString(), quick: opts.quick, reps: opts.reps, imageMiB: opts.sizeMiB, runtimeSeconds: opts.runtime, node: process.version, notes };
  writeFileSync(join(RESULTS, 'latest.json'), `${JSON.stringify({ meta, results }, null, 2)}\n`);
  const head = `| job | ${names.join(' | ')} | strict/off | strict/qsd |\n|---|${names.map(() => '---|').join('')}---|---|\n`;
  const rows = results.map((r) => `| ${r.job}, ${r.metric} | ${names.map((t) => fmt(r.targets[t]!.median, r.metric)).join(' | ')} | ${r.ratios.strictVsOff.toFixed(2)} | ${Number.isFinite(r.ratios.strictVsQsd) ? r.ratios.strictVsQsd.toFixed(2) : '-'} |`).join('\n');
  // Per 4 KiB request: the sequential jobs' 1 MiB operations would swamp the median.
  const small = results.filter((_r, i) => JOBS[i]!.args.includes('--bs=4k'));
  const cpuRows = `\nServer CPU per 4 KiB operation (user+sys, µs, median over the 4K jobs): ${names.filter((t) => t !== 'direct').map((t) => `${t} ${median(small.map((r) => r.targets[t]!.cpuUsPerOp).filter(Number.isFinite)).toFixed(0)}`).join(', ')}\n`;
  const scaleLine = scale ? `\n16 TiB sparse image (trackfs strict, 64K clusters): mount ${scale.mountMs} ms, daemon RSS ${scale.rssAfterMountMiB} MiB after mount and ${scale.rssAfterWritesMiB} MiB after ${scale.writes} random 4K writes across it.\n` : '';
  const md = `Benchmark ${meta.date}: ${opts.sizeMiB} MiB image, ${opts.reps} interleaved repetitions, medians.\n\n${head}${rows}\n${cpuRows}${scaleLine}${notes.map((n) => `\n- ${n}`).join('')}\n`;
  writeFileSync(join(RESULTS, 'latest.md'), md);
  writeFileSync(join(RESULTS, 'latest.svg'), svgChart(JOBS, names, med));
  console.log(`\n${md}\nwrote bench/results/latest.json, latest.md, latest.svg`);
}

main().catch((e) => {
  console.error(`bench: ${(e as Error).message}`);
  process.exit(1);
});
