/**
 * What the control channel asks of a live mount's journal, beside the policy: the changes, a sync,
 * and the test hook that injects journal faults. Each refuses with the mount's errno when the
 * journal is not open (ejected, removed, shutting down).
 */
import type { FaultOp } from '../control/protocol.js';
import { changesSince, type ChangeList } from '../journal/changes.js';
import { ErrnoError } from '../util/errno.js';
import type { Logger } from '../util/logger.js';
import type { BackingOwner } from './backing.js';
import type { Lifecycle } from './lifecycle.js';

export class JournalRequests {
  constructor(
    private readonly backing: BackingOwner,
    private readonly lifecycle: Lifecycle,
    private readonly journalPath: string,
    private readonly log: Logger,
  ) {}

  #notNow(what: string, hint = ''): ErrnoError {
    return new ErrnoError(this.lifecycle.ioError() ?? 'EIO', `cannot ${what}: mount is ${this.lifecycle.state}${hint}`);
  }

  changes(since: string | null, until: string | null = null): Promise<ChangeList> {
    const j = this.backing.journal;
    if (!j) return Promise.reject(this.#notNow('list changes', `; read the journal offline: trackfs changes ${this.journalPath}`));
    const h = j.headerSnapshot();
    return changesSince(j, since, { trusted: h.state !== 'untrusted', reason: h.reason }, until);
  }

  async sync(): Promise<{ synced: true }> {
    const j = this.backing.journal;
    if (!this.lifecycle.serving || !j) throw this.#notNow('sync');
    await j.sync();
    return { synced: true };
  }

  /** Test hook (TRACKFS_TEST_HOOKS=1 only): make the journal's next calls of a kind fail. */
  injectFault(io: FaultOp | 'none', code: string): { injected: FaultOp | 'none' } {
    const faults = this.backing.current?.opened.faults;
    if (!faults) throw new ErrnoError('EPERM', 'test hooks are disabled');
    if (io === 'none') faults.clear();
    else faults.inject(io, code);
    this.log.warn({ io, code }, 'test hook: journal fault injection changed');
    return { injected: io };
  }
}
