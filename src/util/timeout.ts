/** A bound on a wait for something that may never answer (a stalled device, a vanished medium). */
import { ErrnoError } from './errno.js';

/** Rejects with ETIMEDOUT if `p` has not settled within `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ErrnoError('ETIMEDOUT', `${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([p.finally(() => clearTimeout(timer)), limit]);
}
