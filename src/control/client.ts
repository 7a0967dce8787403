/** The CLI's side of the control channel, typed by the protocol (ControlOps). */
import { createConnection } from 'node:net';
import { MAX_REPLY_BYTES, REPLY_TIMEOUT_MS, type ControlOp, type ControlReply, type ReplyOf, type RequestOf } from './protocol.js';

/** Nobody answered: no daemon, a dead one, or one that did not reply in time. */
export class ControlUnavailable extends Error {
  constructor(readonly socketPath: string, readonly reason: string) {
    super(`no trackfs daemon answers at ${socketPath} (${reason})`);
  }
}

/** The daemon answered with an error: its errno name and its one-line message. */
export class ControlRemoteError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export function callDaemon<K extends ControlOp>(socketPath: string, req: RequestOf<K>, timeoutMs: number = REPLY_TIMEOUT_MS[req.op]): Promise<ReplyOf<K>> {
  return new Promise((resolve, reject) => {
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
        let reply: ControlReply<ReplyOf<K>>;
        try {
          reply = JSON.parse(data) as ControlReply<ReplyOf<K>>;
        } catch {
          return reject(new ControlUnavailable(socketPath, 'connection closed without a reply'));
        }
        if (reply.ok) resolve(reply.result);
        else reject(new ControlRemoteError(reply.error.code, reply.error.message));
      });
    });
    sock.on('error', (e: NodeJS.ErrnoException) => finish(() => reject(new ControlUnavailable(socketPath, e.code ?? e.message))));
  });
}
