/** Runs bench/tracker-cost.ts in a child process of its own (a clean heap and JIT) and reads its JSON. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './paths.js';
import type { TrackerCost } from './results.js';

/** The measure, or null with a note saying why there is none. */
export function measureTrackerCost(notes: string[]): TrackerCost | null {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'bench', 'tracker-cost.js')], { encoding: 'utf8' });
  if (r.status !== 0) {
    notes.push(`in-process tracker cost not measured: ${r.stderr.trim()}`);
    return null;
  }
  const j = JSON.parse(r.stdout) as { calls: number; nsPerCall: Record<string, { addedNs: number }> };
  return {
    calls: j.calls,
    random4k: { addedNs: j.nsPerCall['random-4k']!.addedNs },
    sequential128k: { addedNs: j.nsPerCall['sequential-128k']!.addedNs },
    raw: j.nsPerCall,
  };
}
