#!/usr/bin/env node
// thread-cpu.mjs PID FIO_ARGS...: runs fio and reports the CPU (user, sys) that each class of
// PID's threads spent per fio operation, from /proc/PID/task/*/stat before and after. Classes
// come from threads.sh (run after the job, so threads started by the load are seen). Time of
// threads that exited during the job is the process total minus the threads still there.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [pidArg, ...fioArgs] = process.argv.slice(2);
const pid = Number(pidArg);
const HZ = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim() || 100);
const ticks = (path) => {
  const s = readFileSync(path, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return [Number(f[11]), Number(f[12])];
};
const snap = () => {
  const m = new Map();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try { m.set(t, ticks(`/proc/${pid}/task/${t}/stat`)); } catch { /* exited */ }
  }
  return { threads: m, total: ticks(`/proc/${pid}/stat`) };
};
const a = snap();
const t0 = Date.now();
const r = spawnSync('fio', ['--output-format=json', ...fioArgs], { encoding: 'utf8', maxBuffer: 64 << 20 });
const wall = (Date.now() - t0) / 1000;
const b = snap();
if (r.status !== 0) { console.error(r.stderr); process.exit(1); }
const job = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))).jobs[0];
const side = job.read.total_ios > 0 ? job.read : job.write;
const ops = side.total_ios;
const here = dirname(fileURLToPath(import.meta.url));
const threadLines = execFileSync(join(here, 'threads.sh'), [String(pid)], { encoding: 'utf8' }).trim().split('\n');
const classes = new Map(threadLines.map((l) => l.split(' ')));
const per = new Map();
let sum = 0;
for (const [t, [u, s]] of b.threads) {
  const [u0, s0] = a.threads.get(t) ?? [0, 0];
  const c = classes.get(t) ?? 'unknown';
  const x = per.get(c) ?? [0, 0];
  x[0] += u - u0; x[1] += s - s0;
  per.set(c, x);
  sum += u - u0 + s - s0;
}
const total = b.total[0] + b.total[1] - a.total[0] - a.total[1];
const us = (t) => ((t / HZ) * 1e6) / ops;
const out = { ops, iops: Math.round(side.iops), mbps: Math.round(side.bw_bytes / 1e6), wallSeconds: wall, usPerOp: {} };
for (const [c, [u, s]] of [...per].sort()) if (u + s > 0) out.usPerOp[c] = { user: +us(u).toFixed(1), sys: +us(s).toFixed(1) };
if (total - sum > 0) out.usPerOp['exited threads'] = { user: null, sys: null, total: +us(total - sum).toFixed(1) };
out.usPerOpTotal = +us(total).toFixed(1);
console.log(JSON.stringify(out));
