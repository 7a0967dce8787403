/** Where the benchmark finds the source tree it measures (the one it was built from) and its parts. */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The source tree: this module runs as dist/bench/paths.js. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The trackfs command of a source tree (another tree for a --variant). */
export function trackfsBin(tree = ROOT): string {
  return join(tree, 'bin', 'trackfs.js');
}
