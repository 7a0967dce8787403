/**
 * Running a helper program trackfs does not ship (dumpe2fs, debugfs, rsvg-convert): no shell, its
 * input on stdin (never a path in an argument it could read as an option), its output collected,
 * killed if it outlives its limit, and every failure one line: not installed, or how it ended and
 * the last thing it said.
 */
import { spawn } from 'node:child_process';
import { ErrnoError } from './errno.js';

export interface ToolOptions {
  /** What goes to its stdin (nothing: stdin is closed at once). */
  input?: string;
  /** It is killed (SIGKILL) after this long. */
  timeoutMs: number;
  /** The message when the program is not installed (ENOENT). */
  missing: string;
}

/** Runs `cmd` with `args` to its end; resolves with its stdout when it exits 0. */
export function runTool(cmd: string, args: readonly string[], opts: ToolOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
    child.stdin.on('error', () => {}); // an early exit is reported below
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(e.code === 'ENOENT' ? new ErrnoError('ENOENT', opts.missing) : new ErrnoError('EIO', `cannot run ${cmd}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve(Buffer.concat(out));
      const said = err.trim().split('\n').at(-1) ?? '';
      const how = signal === 'SIGKILL' ? `killed after ${opts.timeoutMs / 1000} s` : signal ?? `exit ${code}`;
      reject(new ErrnoError('EIO', `${cmd} failed (${how})${said ? `: ${said}` : ''}`));
    });
    child.stdin.end(opts.input ?? '');
  });
}
