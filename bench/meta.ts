/** The facts of a run written beside its results: when, what machine, which commit, the notes. */
import { execFileSync } from 'node:child_process';
import { cpus, release } from 'node:os';
import type { Options } from './options.js';
import { ROOT } from './paths.js';
import type { Meta } from './results.js';

function gitFacts(): { commit: string; dirty: string[] } {
  const env = process.env['BENCH_SOURCE_COMMIT'];
  const git = (args: string[]) => execFileSync('git', ['-C', ROOT, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const commit = git(['rev-parse', 'HEAD']).trim();
    const dirty = git(['status', '--porcelain', '--', 'src', 'bin']).split('\n').filter(Boolean);
    return { commit, dirty };
  } catch {
    return { commit: env ?? 'unknown', dirty: [] };
  }
}

/** `notes` is kept by reference: notes added later still reach the report. */
export function baseMeta(opts: Options, notes: string[], startedAt: number): Meta {
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
