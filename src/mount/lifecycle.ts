/**
 * The mount's lifecycle: one state machine, owned here, logged on every transition and shown by
 * status. Only `active` serves I/O; every other state answers at once with the errno below.
 *
 *   mounting -> active -> (ejecting -> ejected -> active | removed) -> unmounting -> unmounted
 *   any state before unmounting -> failed (journal unusable) -> unmounting
 */
import type { ErrnoName } from '../util/errno.js';

export type MountState = 'mounting' | 'active' | 'ejecting' | 'ejected' | 'removed' | 'failed' | 'unmounting' | 'unmounted';

const NEXT: Record<MountState, readonly MountState[]> = {
  mounting: ['active', 'failed', 'unmounting'],
  active: ['ejecting', 'removed', 'failed', 'unmounting'],
  ejecting: ['ejected', 'removed', 'failed', 'unmounting'],
  ejected: ['active', 'removed', 'failed', 'unmounting'],
  removed: ['unmounting'],
  failed: ['unmounting'],
  unmounting: ['unmounted'],
  unmounted: [],
};

/** What a read, write or fsync gets in each state. The device gone is ENODEV; anything else EIO. */
const IO_ERROR: Record<MountState, ErrnoName | null> = {
  mounting: 'EIO',
  active: null,
  ejecting: 'EIO',
  ejected: 'EIO',
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
  private current: MountState = 'mounting';
  private lastReason = 'starting';
  private changedAt = Date.now();
  private readonly listeners: ((t: Transition) => void)[] = [];

  get state(): MountState {
    return this.current;
  }

  get reason(): string {
    return this.lastReason;
  }

  get since(): number {
    return this.changedAt;
  }

  /** The errno for I/O in the current state, or null when I/O is served. Hot path: a lookup. */
  ioError(): ErrnoName | null {
    return IO_ERROR[this.current];
  }

  /** Re-reads the state (a method, so TypeScript does not narrow across an await). */
  is(state: MountState): boolean {
    return this.current === state;
  }

  can(to: MountState): boolean {
    return NEXT[this.current].includes(to);
  }

  /** Moves to `to`. An illegal transition is a bug in trackfs, not a runtime condition: it throws. */
  moveTo(to: MountState, reason: string): void {
    if (!this.can(to)) throw new Error(`INTERNAL ERROR: lifecycle ${this.current} -> ${to} is not allowed (${reason})`);
    const t: Transition = { from: this.current, to, reason, at: Date.now() };
    this.current = to;
    this.lastReason = reason;
    this.changedAt = t.at;
    for (const l of this.listeners) l(t);
  }

  onTransition(listener: (t: Transition) => void): void {
    this.listeners.push(listener);
  }
}
