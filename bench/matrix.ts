/**
 * Runs every (target, repetition, session) with the repetitions interleaved: the target order
 * rotates each repetition, so drift on a noisy machine hits every target alike. Each session gets
 * a fresh sparse image in a directory of its own.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cells, type Measurements } from './cells.js';
import { runFio, type FioSetup } from './fio.js';
import { fmt } from './format.js';
import { SESSIONS, firstTouchLog, fullCoverBytes, type Job } from './jobs.js';
import { onCleanup } from './cleanup.js';
import { cpuTicks, dropCaches, rssMiB, ticksPerSecond } from './procfs.js';
import type { Target } from './targets.js';

export interface MatrixSetup extends FioSetup { reps: number }

/** What a run asks of the matrix: repetitions, image size, time of a random job. */
export type RunSize = Omit<MatrixSetup, 'iolog'>;

/** The targets in the order repetition `rep` runs them. */
export function rotation<T>(targets: T[], rep: number): T[] {
  return targets.map((_, i) => targets[(i + rep) % targets.length]!);
}

export async function runMatrix(targets: Target[], jobs: Job[], setup: MatrixSetup, work: string): Promise<Measurements> {
  const cells = new Cells();
  const rss = new Map<string, number[]>();
  const tps = ticksPerSecond();
  const imageBytes = setup.sizeMiB << 20;
  for (let rep = 0; rep < setup.reps; rep++) {
    for (const t of rotation(targets, rep)) {
      for (const session of SESSIONS) {
        const sjobs = jobs.filter((j) => j.session === session);
        if (sjobs.length === 0) continue;
        const dir = join(work, `${t.name}-${rep}-${session}`);
        mkdirSync(dir);
        const image = join(dir, 'image.raw');
        execFileSync('truncate', ['-s', `${setup.sizeMiB}M`, image]);
        const served = await t.start(image, dir);
        try {
          for (const job of sjobs) {
            if (job.cold) dropCaches();
            const before = cpuTicks(served.pid);
            const r = runFio(served.file, job, setup);
            const cpu = ((cpuTicks(served.pid) - before) / tps) * 1e6;
            const c = cells.at(job.id, t.name);
            c.samples.push(r.value);
            c.clat50us.push(r.clat50us);
            if (served.pid && r.ops > 0) c.cpuUsPerOp.push(cpu / r.ops);
            const full = job.timeBased || r.bytes >= fullCoverBytes(job, imageBytes);
            const cpuText = served.pid ? `  ${(cpu / Math.max(1, r.ops)).toFixed(0)} µs CPU/op` : '';
            console.log(`rep ${rep + 1}/${setup.reps} ${t.name.padEnd(22)} ${job.name.padEnd(44)} ${fmt(r.value, job.metric).padStart(7)}`
              + ` ${job.metric}${cpuText}${full ? '' : '  (did not cover the file!)'}`);
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

/** runMatrix in a private temp dir named `prefix`..., with the first-touch iolog in it; the dir is removed after. */
export async function measure(targets: Target[], jobs: Job[], size: RunSize, prefix: string): Promise<Measurements> {
  const work = mkdtempSync(join(tmpdir(), prefix));
  const undo = onCleanup(() => rmSync(work, { recursive: true, force: true }));
  try {
    const iolog = join(work, 'first-touch.iolog');
    writeFileSync(iolog, firstTouchLog(size.sizeMiB << 20));
    return await runMatrix(targets, jobs, { ...size, iolog }, work);
  } finally {
    rmSync(work, { recursive: true, force: true });
    undo();
  }
}
