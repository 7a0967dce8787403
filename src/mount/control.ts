/** Control requests of a live mount, each mapped to the daemon's policy (see protocol.ts). */
import type { ControlHandlers } from '../control/server.js';
import type { MountDaemon } from './daemon.js';

export function controlHandlers(d: MountDaemon): ControlHandlers {
  return {
    status: () => d.status(),
    changes: async (req) => {
      const list = await d.changes(typeof req.since === 'string' ? req.since : null);
      return { result: list.summary, batches: list.batches() };
    },
    checkpoint: () => d.checkpoint(),
    unmount: (req, reply) => d.requestUnmount(req.lazy === true, reply),
    sync: () => d.sync(),
    eject: () => d.eject('eject requested'),
    resume: () => d.resume(),
    'inject-fault': (req) => d.injectFault(req.io, req.code),
  };
}
