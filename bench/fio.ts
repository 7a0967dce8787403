/** One fio job on one file: its command line, its run, and what the report takes from its JSON. */
import { spawnSync } from 'node:child_process';
import type { Job } from './jobs.js';

export interface FioResult { value: number; ops: number; bytes: number; clat50us: number }

/** What a job's run depends on beyond the job: image size, time of a random job, the iolog's path. */
export interface FioSetup { sizeMiB: number; runtime: number; iolog: string }

export function fioArgs(file: string, job: Job, setup: FioSetup): string[] {
  const args = ['--name=bench', `--filename=${file}`, '--ioengine=psync', '--output-format=json', ...job.args];
  if (job.firstTouchLog) args.push(`--read_iolog=${setup.iolog}`, `--replay_redirect=${file}`);
  else args.push(`--size=${setup.sizeMiB}M`);
  if (job.timeBased) args.push('--time_based=1', `--runtime=${setup.runtime}`);
  else args.push('--runtime=300'); // a cap only: sequential jobs cover the whole file
  return args;
}

type Side = { bw_bytes: number; iops: number; total_ios: number; io_bytes: number; clat_ns?: { percentile?: Record<string, number> } };

/** The job's side (read or write) of fio's JSON output; fio may print warnings before the JSON. */
export function parseFioOutput(stdout: string, job: Job): FioResult {
  const j = JSON.parse(stdout.slice(stdout.indexOf('{'))) as { jobs: { read: Side; write: Side }[] };
  const side = job.args.some((a) => /--rw=(rand)?read/.test(a)) ? j.jobs[0]!.read : j.jobs[0]!.write;
  const p50 = side.clat_ns?.percentile?.['50.000000'];
  return {
    value: job.metric === 'MB/s' ? side.bw_bytes / 1e6 : side.iops,
    ops: side.total_ios,
    bytes: side.io_bytes,
    clat50us: p50 ? p50 / 1000 : NaN,
  };
}

/** Runs fio (argv, no shell) and waits for it: nothing else runs meanwhile, by design. */
export function runFio(file: string, job: Job, setup: FioSetup): FioResult {
  const r = spawnSync('fio', fioArgs(file, job, setup), { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`fio ${job.id} on ${file}: ${r.stderr.trim().split('\n').slice(-1)[0]}`);
  return parseFioOutput(r.stdout, job);
}
