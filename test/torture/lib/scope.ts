/**
 * The end-to-end harness (test/e2e/harness.ts) outside node:test: a scope that runs, newest first,
 * the cleanup the harness registers (unmount, kill its daemons and children, remove its temp dir),
 * and the checks of whether this machine can mount at all.
 */
import { Harness, type CleanupScope } from '../../e2e/harness.js';
import { messageOf } from './kind.js';

export class Scope implements CleanupScope {
  private readonly hooks: (() => void | Promise<void>)[] = [];

  after(fn: () => void | Promise<void>): void {
    this.hooks.push(fn);
  }

  /** Runs every hook, newest first; returns what failed. */
  async close(): Promise<string[]> {
    const problems: string[] = [];
    while (this.hooks.length > 0) {
      const hook = this.hooks.pop()!;
      try {
        await hook();
      } catch (e) {
        problems.push(messageOf(e));
      }
    }
    return problems;
  }
}

/** Runs `fn` with a fresh harness (its own temp dir, mountpoint, runtime and state dirs), cleaned up after. */
export async function withHarness<T>(fn: (h: Harness) => Promise<T>): Promise<T> {
  const scope = new Scope();
  const h = await Harness.create(scope);
  try {
    return await fn(h);
  } finally {
    const problems = await scope.close();
    if (problems.length > 0) process.stderr.write(`# torture: cleanup of ${h.dir}: ${problems.join('; ')}\n`);
  }
}
