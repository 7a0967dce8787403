/** What the benchmark reads of a server process and asks of the kernel, through /proc. */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

/** utime + stime of all the process's threads, in clock ticks; 0 when there is no process. */
export function cpuTicks(pid: number | null): number {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

/** Clock ticks per second, the unit of cpuTicks. */
export function ticksPerSecond(): number {
  return Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);
}

/** Resident memory of the process in MiB, NaN when there is no process. */
export function rssMiB(pid: number | null): number {
  if (!pid) return NaN;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Writes back and drops the page cache, so the next read is cold. */
export function dropCaches(): void {
  spawnSync('sync');
  try { writeFileSync('/proc/sys/vm/drop_caches', '3'); } catch { /* not root: the "cold" read is warm */ }
}
