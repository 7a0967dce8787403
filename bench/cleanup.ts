/**
 * Undo actions for whatever the benchmark has live now (a mount, a server, a temp dir), run at the
 * end, on an error, and on SIGINT/SIGTERM/SIGHUP. They are synchronous so a signal handler can run
 * them before the process exits.
 */

const cleanups = new Set<() => void>();

/** Registers `fn`; returns the function that unregisters it (once the thing is undone normally). */
export function onCleanup(fn: () => void): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/** Runs every registered undo, latest first, each best effort. */
export function runCleanups(): void {
  for (const fn of [...cleanups].reverse()) {
    try { fn(); } catch { /* best effort */ }
  }
  cleanups.clear();
}

export function cleanUpOnSignals(): void {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      console.error(`bench: ${sig}: cleaning up`);
      runCleanups();
      process.exit(130);
    });
  }
}
