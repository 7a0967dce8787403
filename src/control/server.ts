/** The daemon's side of the control channel. */
import { createServer, type Server } from 'node:net';
import { lstatSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { ErrnoError } from '../util/errno.js';
import { removeStale } from '../util/private-dir.js';
import { MAX_MESSAGE_BYTES, type ControlReply, type ControlRequest } from './protocol.js';
import { fsError } from '../util/fs-errors.js';

export type ControlHandler = (req: ControlRequest) => Promise<unknown>;

export class ControlServer {
  private constructor(private readonly server: Server, readonly path: string) {}

  static async listen(path: string, handle: ControlHandler, onError: (e: unknown) => void): Promise<ControlServer> {
    // A socket left by a daemon that died is stale (the caller has checked that no daemon owns it):
    // removed if it is a socket of ours, refused if it is anything else.
    removeStale(path, 'socket');
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
