/**
 * The trackfs CLI as the kill and soak kinds run it against a real mount: a process the harness
 * owns, killable (the child is returned). Their writers are test/e2e/writer.ts's.
 */
import type { ChildProcess } from 'node:child_process';
import { BIN, type Harness, type RunResult } from '../../e2e/harness.js';

export interface RunningCommand {
  child: ChildProcess;
  /** Settles when the process ends, or after `timeoutMs` (killed: `signal` is then SIGKILL). */
  done: Promise<RunResult>;
}

/** Starts `trackfs ARGS` as a child of the harness. */
export function startTrackfs(h: Harness, args: string[], timeoutMs = 60_000, env: Record<string, string> = {}): RunningCommand {
  const child = h.spawnChild([BIN, ...args], env);
  child.stdin?.end();
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const done = new Promise<RunResult>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, done };
}
