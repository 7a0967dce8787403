/** Control requests of a live mount, each mapped to the daemon's policy (see protocol.ts). */
import type { ControlHandlers } from '../control/server.js';
import type { MountDaemon } from './daemon.js';
import type { JournalRequests } from './journal-requests.js';

export function controlHandlers(d: MountDaemon, j: JournalRequests): ControlHandlers {
  return {
    status: () => d.status(),
    changes: async (req) => {
      const list = await j.changes(typeof req.since === 'string' ? req.since : null, typeof req.until === 'string' ? req.until : null);
      return { result: list.summary, batches: list.batches() };
    },
    checkpoint: () => d.checkpoint(),
    unmount: (req, reply) => d.requestUnmount(req.lazy === true, reply),
    sync: () => j.sync(),
    eject: () => d.eject('eject requested'),
    resume: () => d.resume(),
    'inject-fault': (req) => j.injectFault(req.io, req.code),
  };
}
