/**
 * The CLI's side of the control channel, typed by the protocol (ControlOps). Whatever answers on
 * the socket is believed (a `changes` reply decides what a backup copies), so before connecting
 * the CLI checks that the runtime directory is private and the socket is a socket of the user's
 * own, or root's.
 */
import { createConnection, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { checkRuntimeDir } from '../util/runtime.js';
import { checkOwnSocket } from '../util/private-dir.js';
import {
  MAX_LINE_BYTES,
  REPLY_TIMEOUT_MS,
  type ControlOp,
  type ControlReply,
  type ItemOf,
  type PlainOp,
  type ReplyOf,
  type RequestOf,
  type StreamLine,
  type StreamOp,
} from './protocol.js';

/** Nobody answered: no daemon, a dead one, or one that did not reply in time. */
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

/** The daemon answered with an error: its errno name and its one-line message. */
export class ControlRemoteError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/**
 * Connects, sends `req`, and yields the reply's lines as they come; the socket is read only as
 * fast as the caller takes lines (a streamed reply never piles up in memory). A socket silent for
 * `idleMs` fails with ControlUnavailable.
 */
async function* exchange(socketPath: string, req: { op: ControlOp }, idleMs: number): AsyncGenerator<string> {
  if (checkSocket(socketPath) === 'missing') throw new ControlUnavailable(socketPath, 'ENOENT');
  const sock: Socket = createConnection(socketPath);
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', (e: NodeJS.ErrnoException) => reject(new ControlUnavailable(socketPath, e.code ?? e.message)));
    });
    sock.setTimeout(idleMs, () => sock.destroy(new ControlUnavailable(socketPath, `no answer within ${idleMs} ms`)));
    sock.write(`${JSON.stringify(req)}\n`);
    let pending = '';
    try {
      for await (const chunk of sock) {
        pending += (chunk as Buffer).toString('utf8');
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          yield pending.slice(0, nl);
          pending = pending.slice(nl + 1);
        }
        if (pending.length > MAX_LINE_BYTES) throw new ControlRemoteError('EPROTO', 'oversized reply line from daemon');
      }
    } catch (e) {
      if (e instanceof ControlUnavailable || e instanceof ControlRemoteError) throw e;
      throw new ControlUnavailable(socketPath, (e as NodeJS.ErrnoException).code ?? (e as Error).message);
    }
    if (pending.trim()) yield pending;
  } finally {
    sock.destroy();
  }
}

function parseReply<T>(socketPath: string, line: string | undefined): { result: T; stream: boolean } {
  let reply: ControlReply<T>;
  try {
    reply = JSON.parse(line ?? '') as ControlReply<T>;
  } catch {
    throw new ControlUnavailable(socketPath, 'connection closed without a reply');
  }
  if (!reply.ok) throw new ControlRemoteError(reply.error.code, reply.error.message);
  return { result: reply.result, stream: reply.stream === true };
}

/** Sends one request and returns its one-line reply. */
export async function callDaemon<K extends PlainOp>(
  socketPath: string,
  req: RequestOf<K>,
  timeoutMs: number = REPLY_TIMEOUT_MS[req.op],
): Promise<ReplyOf<K>> {
  const lines = exchange(socketPath, req, timeoutMs);
  try {
    const first = await lines.next();
    return parseReply<ReplyOf<K>>(socketPath, first.done ? undefined : first.value).result;
  } finally {
    await lines.return(undefined);
  }
}

/**
 * Sends a request whose reply streams items: resolves with the reply's result once it arrives;
 * `items` then yields the batches as the daemon sends them (and throws if the stream breaks off:
 * a partial list is never taken for a whole one). `idleMs` bounds each wait, not the whole.
 */
export async function streamDaemon<K extends StreamOp>(socketPath: string, req: RequestOf<K>, idleMs: number = REPLY_TIMEOUT_MS[req.op]):
Promise<{ result: ReplyOf<K>; items: AsyncGenerator<ItemOf<K>[]> }> {
  const lines = exchange(socketPath, req, idleMs);
  const first = await lines.next();
  let head;
  try {
    head = parseReply<ReplyOf<K>>(socketPath, first.done ? undefined : first.value);
  } catch (e) {
    await lines.return(undefined);
    throw e;
  }
  if (!head.stream) throw new ControlRemoteError('EPROTO', `the daemon did not stream its ${req.op} reply`);
  async function* items(): AsyncGenerator<ItemOf<K>[]> {
    let count = 0;
    for await (const line of lines) {
      const msg = JSON.parse(line) as StreamLine<ItemOf<K>>;
      if ('items' in msg) {
        count += msg.items.length;
        yield msg.items;
      } else if ('end' in msg) {
        if (msg.count !== count) throw new ControlRemoteError('EPROTO', `the daemon announced ${msg.count} items and sent ${count}`);
        return;
      } else {
        throw new ControlRemoteError(msg.error.code, msg.error.message);
      }
    }
    throw new ControlUnavailable(socketPath, `the ${req.op} reply ended before its last item`);
  }
  return { result: head.result, items: items() };
}
