/**
 * The mount's lifecycle: one state machine that owns every state the mount can be in, logged on
 * every transition and shown by status. Nothing else in the daemon keeps a flag that says what
 * the mount is doing: an operation under way (a probe, a resume, an eject, an unmount) is a state
 * here, so an illegal path (a resume finishing into an unmount) is refused by the table, not by
 * the order callbacks happen to run in.
 *
 *   mounting -> active <-> probing                      (an image EIO: is the device still there?)
 *   active | probing -> ejecting -> ejected -> resuming -> active | ejected
 *   active | probing | ejecting | resuming -> removed   (the image's device is gone)
 *   any state before unmounting -> failed               (the journal is unusable)
 *   any state but unmounted -> unmounting -> unmounted
 *
 * Only `active` and `probing` serve I/O; every other state answers at once with its errno.
 */
import type { ErrnoName } from '../util/errno.js';

export type MountState =
  | 'mounting' | 'active' | 'probing' | 'ejecting' | 'ejected' | 'resuming' | 'removed' | 'failed' | 'unmounting' | 'unmounted';

const NEXT: Record<MountState, readonly MountState[]> = {
  mounting: ['active', 'failed', 'unmounting'],
  active: ['probing', 'ejecting', 'removed', 'failed', 'unmounting'],
  probing: ['active', 'ejecting', 'removed', 'failed', 'unmounting'],
  ejecting: ['ejected', 'removed', 'failed', 'unmounting'],
  ejected: ['resuming', 'failed', 'unmounting'],
  resuming: ['active', 'ejected', 'removed', 'failed', 'unmounting'],
  removed: ['unmounting'],
  failed: ['unmounting'],
  unmounting: ['unmounted'],
  unmounted: [],
};

/**
 * What a read, write or fsync gets in each state, chosen here once: the device gone is ENODEV;
 * every other state that does not serve is EIO. Control requests that need a serving mount (a
 * checkpoint, a live `changes`) get the same errno.
 */
const IO_ERROR: Record<MountState, ErrnoName | null> = {
  mounting: 'EIO',
  active: null,
  probing: null,
  ejecting: 'EIO',
  ejected: 'EIO',
  resuming: 'EIO',
  removed: 'ENODEV',
  failed: 'EIO',
  unmounting: 'EIO',
  unmounted: 'EIO',
};

export interface Transition {
  from: MountState;
  to: MountState;
  reason: string;
  at: number;
}

export class Lifecycle {
  #current: MountState = 'mounting';
  #reason = 'starting';
  #since = Date.now();
  readonly #listeners: ((t: Transition) => void)[] = [];

  get state(): MountState {
    return this.#current;
  }

  get reason(): string {
    return this.#reason;
  }

  get since(): number {
    return this.#since;
  }

  /** The errno for I/O in the current state, or null when I/O is served. Hot path: a lookup. */
  ioError(): ErrnoName | null {
    return IO_ERROR[this.#current];
  }

  /** Whether the current state serves I/O. */
  get serving(): boolean {
    return IO_ERROR[this.#current] === null;
  }

  /** Re-reads the state (a method, so TypeScript does not narrow across an await). */
  is(...states: MountState[]): boolean {
    return states.includes(this.#current);
  }

  can(to: MountState): boolean {
    return NEXT[this.#current].includes(to);
  }

  /** Moves to `to`. An illegal transition is a bug in trackfs, not a runtime condition: it throws. */
  moveTo(to: MountState, reason: string): void {
    if (!this.can(to)) throw new Error(`INTERNAL ERROR: lifecycle ${this.#current} -> ${to} is not allowed (${reason})`);
    const t: Transition = { from: this.#current, to, reason, at: Date.now() };
    this.#current = to;
    this.#reason = reason;
    this.#since = t.at;
    for (const l of this.#listeners) l(t);
  }

  /**
   * Moves to `to` only if the mount is still in `from`: how an operation that awaited something
   * finishes without overriding what happened meanwhile (a device loss, an unmount). Returns
   * whether it moved.
   */
  finish(from: MountState, to: MountState, reason: string): boolean {
    if (this.#current !== from) return false;
    this.moveTo(to, reason);
    return true;
  }

  onTransition(listener: (t: Transition) => void): void {
    this.#listeners.push(listener);
  }
}

/** Every state and its successors, for tests and documentation. */
export function transitionTable(): Readonly<Record<MountState, readonly MountState[]>> {
  return NEXT;
}
