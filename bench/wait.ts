/** The benchmark's one bounded wait: poll a condition, give up after a time limit. */
import { setInterval as every } from 'node:timers/promises';
import { withTimeout } from '../src/mount/bounded.js';

/**
 * Resolves once `cond` holds (checked now, then every `everyMs`); rejects with ETIMEDOUT after
 * `ms`, or with what `cond` throws. The polling stops either way.
 */
export async function pollUntil(what: string, cond: () => boolean | Promise<boolean>, ms: number, everyMs = 50): Promise<void> {
  const stop = new AbortController();
  const poll = async (): Promise<void> => {
    if (await cond()) return;
    for await (const _ of every(everyMs, undefined, { signal: stop.signal })) if (await cond()) return;
  };
  try {
    await withTimeout(poll(), ms, what);
  } finally {
    stop.abort();
  }
}
