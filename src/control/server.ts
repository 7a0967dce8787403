/**
 * The daemon's side of the control channel. Whatever a handler does, and whatever its reply
 * holds, the connection gets a reply: a failure becomes an error reply (a reply that cannot be
 * encoded too), never a dead daemon. Streamed items are written at the pace the client reads them.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { lstatSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { ErrnoError, errnoNameOf, messageOf } from '../util/errno.js';
import { fsError } from '../util/fs-errors.js';
import { removeStale } from '../util/private-dir.js';
import {
  MAX_MESSAGE_BYTES,
  type ControlOp,
  type ControlReply,
  type ControlRequest,
  type ItemOf,
  type PlainOp,
  type ReplyOf,
  type RequestOf,
  type StreamLine,
  type StreamOp,
} from './protocol.js';

/** What a handler may ask of the connection it answers. */
export interface ReplyContext {
  /** Runs `fn` once the reply has been handed to the kernel (e.g. exit after an unmount's reply). */
  afterReply(fn: () => void): void;
}

/** A streamed reply: the result first, then the items, a batch per line. */
export interface Streamed<R, I> {
  result: R;
  batches: Iterable<I[]>;
}

/** One handler per operation: the daemon's side of ControlOps. */
export type ControlHandlers =
  & { [K in PlainOp]: (req: RequestOf<K>, ctx: ReplyContext) => Promise<ReplyOf<K>> | ReplyOf<K> }
  & { [K in StreamOp]: (req: RequestOf<K>, ctx: ReplyContext) => Promise<Streamed<ReplyOf<K>, ItemOf<K>>> };

const STREAM_OPS: ReadonlySet<ControlOp> = new Set<StreamOp>(['changes']);

function isControlRequest(v: unknown, handlers: ControlHandlers): v is ControlRequest {
  return typeof v === 'object' && v !== null && typeof (v as { op?: unknown }).op === 'string' && Object.hasOwn(handlers, (v as { op: string }).op);
}

function encode(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

const errorLine = (e: unknown): string => encode({ ok: false, error: { code: errnoNameOf(e), message: messageOf(e) } });

/** Writes one line; waits while the client has not read what was written before. */
function writeLine(sock: Socket, line: string): Promise<void> {
  if (sock.destroyed) return Promise.reject(new Error('the client went away'));
  if (sock.write(`${line}\n`)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (e?: Error) => {
      sock.off('drain', onDrain);
      sock.off('close', onClose);
      if (e) reject(e);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error('the client went away'));
    sock.once('drain', onDrain);
    sock.once('close', onClose);
  });
}

async function answer(sock: Socket, handlers: ControlHandlers, req: ControlRequest, ctx: ReplyContext): Promise<void> {
  const handler = handlers[req.op] as (r: ControlRequest, c: ReplyContext) => Promise<unknown> | unknown;
  let result: unknown;
  try {
    result = await handler(req, ctx);
  } catch (e) {
    return writeLine(sock, errorLine(e));
  }
  if (!STREAM_OPS.has(req.op)) {
    let line: string;
    try {
      line = encode({ ok: true, result } satisfies ControlReply);
    } catch (e) {
      line = errorLine(new Error(`the reply could not be encoded: ${messageOf(e)}`));
    }
    return writeLine(sock, line);
  }
  const streamed = result as Streamed<unknown, unknown>;
  await writeLine(sock, encode({ ok: true, result: streamed.result, stream: true } satisfies ControlReply));
  let count = 0;
  try {
    for (const items of streamed.batches) {
      count += items.length;
      await writeLine(sock, encode({ items } satisfies StreamLine<unknown>));
      // Making batches is CPU work on the event loop: let FUSE requests in between them.
      await new Promise((r) => setImmediate(r));
    }
  } catch (e) {
    if (sock.destroyed) return;
    return writeLine(sock, errorLine(e));
  }
  return writeLine(sock, encode({ end: true, count } satisfies StreamLine<unknown>));
}

export class ControlServer {
  private constructor(private readonly server: Server, readonly path: string) {}

  static async listen(path: string, handlers: ControlHandlers, onError: (e: unknown) => void): Promise<ControlServer> {
    // A socket left by a daemon that died is stale (the caller has checked that no daemon owns it):
    // removed if it is a socket of ours, refused if it is anything else.
    removeStale(path, 'socket');
    const server = createServer((sock) => {
      let data = '';
      let asked = false;
      const after: (() => void)[] = [];
      const ctx: ReplyContext = { afterReply: (fn) => { after.push(fn); } };
      sock.setEncoding('utf8');
      sock.on('error', () => sock.destroy());
      sock.on('data', (chunk: string) => {
        if (asked) return;
        data += chunk;
        if (data.length > MAX_MESSAGE_BYTES) return sock.destroy();
        const nl = data.indexOf('\n');
        if (nl < 0) return;
        asked = true;
        let req: unknown;
        try {
          req = JSON.parse(data.slice(0, nl));
        } catch {
          req = null;
        }
        const reply = isControlRequest(req, handlers)
          ? answer(sock, handlers, req, ctx)
          : writeLine(sock, encode({ ok: false, error: { code: 'EINVAL', message: `malformed or unknown control request: ${data.slice(0, Math.min(nl, 80))}` } }));
        reply.then(
          () => sock.end(() => { for (const fn of after) fn(); }),
          () => sock.destroy(),
        );
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(fsError('cannot create control socket', path, e)));
      // The socket is made by bind(2), inside listen(), with the umask's mode: 0600 from the start,
      // so that no other user could connect even for an instant.
      const umask = process.umask(0o177);
      try {
        server.listen(path, () => {
          server.removeAllListeners('error');
          server.on('error', onError);
          resolve();
        });
      } finally {
        process.umask(umask);
      }
    });
    const st = lstatSync(path);
    if ((st.mode & 0o077) !== 0) {
      server.close();
      throw new ErrnoError('EACCES', `control socket ${path} was created with mode ${(st.mode & 0o777).toString(8)}, open to other users`);
    }
    // The daemon's lifetime is owned by the mount, not by the socket.
    server.unref();
    return new ControlServer(server, path);
  }

  /**
   * Stops accepting connections and removes the socket file. Does not wait for open connections:
   * the unmount request that triggered the shutdown is one of them, still owed its reply.
   */
  async close(): Promise<void> {
    this.server.close();
    await unlink(this.path).catch(() => {});
  }
}
