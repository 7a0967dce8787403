/**
 * What every trackfs command owes its user, whatever it was given: it ends (a hang is a failure),
 * with a documented exit code, and a failure is one line `trackfs: <problem>` on stderr, never a
 * stack trace or a dump of an Error.
 */
import type { RunResult } from '../../e2e/harness.js';

/** The same rules as test/cli/helpers.bash's assert_no_stack. */
export function stackProblems(stderr: string): string[] {
  const out: string[] = [];
  if (/^\s+at /m.test(stderr)) out.push('a stack trace on stderr');
  if (stderr.includes('Error:')) out.push(`an 'Error:' dump on stderr`);
  if (stderr.includes('node:internal')) out.push('node internals on stderr');
  return out;
}

/** Problems with how a command ended; `allowed` are the exit codes its documentation gives. */
export function endProblems(r: RunResult, allowed: readonly number[], what: string): string[] {
  const problems: string[] = [];
  if (r.signal) return [`${what} did not end by itself (killed by ${r.signal} at its time limit: a hang?)`];
  if (r.code === null || !allowed.includes(r.code)) problems.push(`${what} exited ${r.code} (documented: ${allowed.join(', ')})`);
  for (const p of stackProblems(r.stderr)) problems.push(`${what}: ${p}`);
  if (r.code !== 0) {
    const lines = r.stderr.split('\n').filter((l) => l.length > 0);
    if (lines.length !== 1 || !lines[0]!.startsWith('trackfs: ')) {
      problems.push(`${what} failed without one 'trackfs: ' line on stderr: ${JSON.stringify(r.stderr.slice(0, 300))}`);
    }
  }
  return problems;
}

/** Parses a command's JSON output; a problem if it is not JSON. */
export function parseJson<T>(r: RunResult, what: string, problems: string[]): T | null {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    problems.push(`${what} exited 0 but its stdout is not JSON: ${JSON.stringify(r.stdout.slice(0, 200))}`);
    return null;
  }
}
