/** The daemon's side of the control channel. */
import { createServer, type Server } from 'node:net';
import { unlink } from 'node:fs/promises';
import { errnoNameOf, messageOf } from '../util/errno.js';
import { MAX_MESSAGE_BYTES, type ControlOp, type ControlReply, type ControlRequest, type ReplyOf, type RequestOf } from './protocol.js';

/** What a handler may ask of the connection it answers. */
export interface ReplyContext {
  /** Runs `fn` once the reply has been handed to the kernel (e.g. exit after an unmount's reply). */
  afterReply(fn: () => void): void;
}

/** One handler per operation: the daemon's side of ControlOps. */
export type ControlHandlers = { [K in ControlOp]: (req: RequestOf<K>, ctx: ReplyContext) => Promise<ReplyOf<K>> | ReplyOf<K> };

function isControlRequest(v: unknown, handlers: ControlHandlers): v is ControlRequest {
  return typeof v === 'object' && v !== null && typeof (v as { op?: unknown }).op === 'string' && Object.hasOwn(handlers, (v as { op: string }).op);
}

/**
 * Runs the handler of `req`. A failure of any kind, even while building the reply, becomes an error
 * reply: the daemon never dies of a control request.
 */
async function dispatch(handlers: ControlHandlers, req: ControlRequest, ctx: ReplyContext): Promise<unknown> {
  const handler = handlers[req.op] as (r: ControlRequest, c: ReplyContext) => Promise<unknown> | unknown;
  return handler(req, ctx);
}

export class ControlServer {
  private constructor(private readonly server: Server, readonly path: string) {}

  static async listen(path: string, handlers: ControlHandlers, onError: (e: unknown) => void): Promise<ControlServer> {
    // A socket file left by a daemon that died is stale: the caller has checked no daemon owns it.
    await unlink(path).catch(() => {});
    const server = createServer((sock) => {
      let data = '';
      const after: (() => void)[] = [];
      const ctx: ReplyContext = { afterReply: (fn) => { after.push(fn); } };
      sock.setEncoding('utf8');
      sock.on('error', () => sock.destroy());
      sock.on('data', (chunk: string) => {
        data += chunk;
        if (data.length > MAX_MESSAGE_BYTES) return sock.destroy();
        const nl = data.indexOf('\n');
        if (nl < 0) return;
        let req: unknown;
        try {
          req = JSON.parse(data.slice(0, nl));
        } catch {
          return reply({ ok: false, error: { code: 'EINVAL', message: 'malformed control request' } });
        }
        if (!isControlRequest(req, handlers)) return reply({ ok: false, error: { code: 'EINVAL', message: `unknown control request ${JSON.stringify((req as { op?: unknown } | null)?.op)}` } });
        dispatch(handlers, req, ctx).then(
          (result) => reply({ ok: true, result }),
          (e: unknown) => reply({ ok: false, error: { code: errnoNameOf(e), message: messageOf(e) } }),
        );
      });
      function reply(r: ControlReply): void {
        let text: string;
        try {
          text = JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
        } catch (e) {
          text = JSON.stringify({ ok: false, error: { code: 'EIO', message: `the reply could not be encoded: ${messageOf(e)}` } });
        }
        sock.end(`${text}\n`, () => { for (const fn of after) fn(); });
      }
    });
    server.on('error', onError);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
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
