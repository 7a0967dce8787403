/** The daemon's side of the control channel. */
import { createServer, type Server } from 'node:net';
import { unlink } from 'node:fs/promises';
import { MAX_MESSAGE_BYTES, type ControlReply, type ControlRequest } from './protocol.js';

export type ControlHandler = (req: ControlRequest) => Promise<unknown>;

export class ControlServer {
  private constructor(private readonly server: Server, readonly path: string) {}

  static async listen(path: string, handle: ControlHandler, onError: (e: unknown) => void): Promise<ControlServer> {
    // A socket file left by a daemon that died is stale: the caller has checked no daemon owns it.
    await unlink(path).catch(() => {});
    const server = createServer((sock) => {
      let data = '';
      sock.setEncoding('utf8');
      sock.on('error', () => sock.destroy());
      sock.on('data', (chunk: string) => {
        data += chunk;
        if (data.length > MAX_MESSAGE_BYTES) return sock.destroy();
        const nl = data.indexOf('\n');
        if (nl < 0) return;
        let req: ControlRequest;
        try {
          req = JSON.parse(data.slice(0, nl)) as ControlRequest;
        } catch {
          return reply({ ok: false, error: { code: 'EINVAL', message: 'malformed control request' } });
        }
        handle(req).then(
          (result) => reply({ ok: true, result }),
          (e: NodeJS.ErrnoException) => reply({ ok: false, error: { code: typeof e?.code === 'string' ? e.code : 'EIO', message: String(e?.message ?? e) } }),
        );
      });
      function reply(r: ControlReply): void {
        sock.end(`${JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
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
