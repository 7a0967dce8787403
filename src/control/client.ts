/**
 * The CLI's side of the control channel. Whatever answers on the socket is believed (a `changes`
 * reply decides what a backup copies), so before connecting the CLI checks that the runtime
 * directory is private and the socket is a socket of the user's own, or root's.
 */
import { createConnection } from 'node:net';
import { dirname } from 'node:path';
import { MAX_REPLY_BYTES, type ControlReply, type ControlRequest } from './protocol.js';
import { checkRuntimeDir } from '../util/runtime.js';
import { checkOwnSocket } from '../util/private-dir.js';

export class ControlUnavailable extends Error {
  constructor(readonly socketPath: string, readonly reason: string) {
    super(`no trackfs daemon answers at ${socketPath} (${reason})`);
  }
}

/** The socket, or the directory it is in, is not one to trust: another user could answer there. */
export class ControlUntrusted extends Error {}

/** 'missing' when nothing is there to ask; throws ControlUntrusted when it cannot be trusted. */
function checkSocket(socketPath: string): 'ok' | 'missing' {
  try {
    if (checkRuntimeDir(dirname(socketPath)) === 'missing') return 'missing';
    return checkOwnSocket(socketPath);
  } catch (e) {
    throw new ControlUntrusted((e as Error).message);
  }
}

export class ControlRemoteError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export function callDaemon<T>(socketPath: string, req: ControlRequest, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    if (checkSocket(socketPath) === 'missing') return reject(new ControlUnavailable(socketPath, 'ENOENT'));
    const sock = createConnection(socketPath);
    let data = '';
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      fn();
    };
    const timer = setTimeout(() => finish(() => reject(new ControlUnavailable(socketPath, `no answer within ${timeoutMs} ms`))), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${JSON.stringify(req)}\n`));
    sock.on('data', (chunk: string) => {
      data += chunk;
      if (data.length > MAX_REPLY_BYTES) finish(() => reject(new ControlRemoteError('EPROTO', 'oversized reply from daemon')));
    });
    sock.on('end', () => {
      finish(() => {
        let reply: ControlReply;
        try {
          reply = JSON.parse(data) as ControlReply;
        } catch {
          return reject(new ControlUnavailable(socketPath, 'connection closed without a reply'));
        }
        if (reply.ok) resolve(reply.result as T);
        else reject(new ControlRemoteError(reply.error.code, reply.error.message));
      });
    });
    sock.on('error', (e: NodeJS.ErrnoException) => finish(() => reject(new ControlUnavailable(socketPath, e.code ?? e.message))));
  });
}
