/**
 * The daemon process around a mount: starts it, turns signals into dismount requests, and makes a
 * trackfs bug end the process loudly (the journal stays active on disk, so the next mount applies
 * the crash rules) instead of leaving a mount that hangs.
 */
import { messageOf } from '../util/errno.js';
import type { Logger } from '../util/logger.js';
import type { MountConfig } from './config.js';
import { MountDaemon } from './daemon.js';

/** Tells whoever started the daemon that the mount is live, or why it could not be. */
export interface Readiness {
  ready(info: { pid: number; mountpoint: string }): void;
  failed(message: string): void;
}

/** Runs a daemon until it is told to stop. Signals are dismount requests. */
export async function runDaemon(config: MountConfig, log: Logger, readiness: Readiness): Promise<void> {
  const daemon = new MountDaemon(config, log);
  process.on('uncaughtException', (e) => {
    log.fatal({ err: e }, 'INTERNAL ERROR: uncaught exception; exiting');
    daemon.exit(70);
  });
  process.on('unhandledRejection', (e) => {
    log.fatal({ err: e }, 'INTERNAL ERROR: unhandled rejection; exiting');
    daemon.exit(70);
  });
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(sig, () => {
      log.info({ signal: sig }, `received ${sig}: unmounting`);
      void daemon.shutdown(`${sig} received`, { unmountFuse: true }).then((s) => daemon.exit(s.journalClean ? 0 : 1));
    });
  }
  try {
    await daemon.start();
  } catch (e) {
    readiness.failed(messageOf(e));
    daemon.exit(1);
  }
  readiness.ready({ pid: process.pid, mountpoint: config.mountpoint });
}
