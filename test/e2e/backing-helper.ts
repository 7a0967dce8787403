/**
 * A small FUSE file system for the removal tests: it serves one file, `disk.img`, a passthrough to
 * a real file, so that trackfs can be pointed at an image whose "device" the test can take away.
 * SIGKILL it and its clients get ENOTCONN (the device is gone); SIGSTOP it and their calls never
 * return (a stalled device). It also shows the test what its client asks of the "device": every
 * fsync/fdatasync of disk.img is counted, and can be made to fail.
 *
 *   node backing-helper.js SOURCE_FILE MOUNTPOINT     prints "ready" once mounted
 *
 * Stdout, one line each: "ready"; "fsync N RESULT" after the Nth fsync of disk.img was answered
 * (RESULT: 0, or the negative errno). Stdin, one command a line: "fail-fsync" makes every later
 * fsync fail with EIO (after the source's own fdatasync), "pass-fsync" ends that; each is
 * acknowledged with "fsync-mode fail" or "fsync-mode pass".
 */
import { open, read, write, fstat, fdatasync, close, constants as fsConstants } from 'node:fs';
import { createInterface } from 'node:readline';
import FuseNative from 'fuse-native';

const [source, mountpoint] = process.argv.slice(2);
if (!source || !mountpoint) {
  process.stderr.write('usage: backing-helper SOURCE_FILE MOUNTPOINT\n');
  process.exit(2);
}

type Cb = (result: number, ...rest: unknown[]) => void;
const EIO = -5;
const ENOENT = -2;
const FILE = '/disk.img';

let fsyncs = 0;
let failFsync = false;
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'fail-fsync') failFsync = true;
  else if (line === 'pass-fsync') failFsync = false;
  else return;
  process.stdout.write(`fsync-mode ${failFsync ? 'fail' : 'pass'}\n`);
});

open(source, 'r+', (err, fd) => {
  if (err) {
    process.stderr.write(`cannot open ${source}: ${err.message}\n`);
    process.exit(1);
  }
  const ops = {
    getattr: (path: string, cb: Cb) => {
      if (path === '/') return cb(0, { mode: fsConstants.S_IFDIR | 0o755, size: 4096, nlink: 2, mtime: new Date(), atime: new Date(), ctime: new Date() });
      if (path !== FILE) return cb(ENOENT);
      fstat(fd, (e, st) =>
        e
          ? cb(EIO)
          : cb(0, { mode: fsConstants.S_IFREG | 0o644, size: st.size, nlink: 1, mtime: st.mtime, atime: st.atime, ctime: st.ctime }),
      );
    },
    readdir: (_path: string, cb: Cb) => cb(0, ['disk.img']),
    open: (path: string, _flags: number, cb: Cb) => cb(path === FILE ? 0 : ENOENT, 0),
    release: (_p: string, _fd: number, cb: Cb) => cb(0),
    read: (_p: string, _fd: number, buf: Buffer, len: number, pos: number, cb: Cb) => {
      const mine = Buffer.alloc(len);
      read(fd, mine, 0, len, pos, (e, n) => {
        if (e) return cb(EIO);
        mine.copy(buf, 0, 0, Math.min(n, buf.length));
        cb(n);
      });
    },
    write: (_p: string, _fd: number, buf: Buffer, len: number, pos: number, cb: Cb) => {
      const mine = Buffer.from(buf.subarray(0, len));
      write(fd, mine, 0, len, pos, (e, n) => cb(e ? EIO : n));
    },
    fsync: (_p: string, _d: number, _fd: number, cb: Cb) => fdatasync(fd, (e) => {
      const result = e || failFsync ? EIO : 0;
      process.stdout.write(`fsync ${++fsyncs} ${result}\n`);
      cb(result);
    }),
    flush: (_p: string, _fd: number, cb: Cb) => cb(0),
    truncate: (_p: string, _s: number, cb: Cb) => cb(0),
    ftruncate: (_p: string, _fd: number, _s: number, cb: Cb) => cb(0),
  };
  class Helper extends FuseNative {
    override _fuseOptions(): string {
      return '-oauto_unmount,big_writes,fsname=trackfs-test-backing,subtype=backing';
    }
  }
  const fuse = new Helper(mountpoint, ops, { timeout: false });
  fuse.mount((e) => {
    if (e) {
      process.stderr.write(`mount failed: ${e.message}\n`);
      close(fd, () => process.exit(1));
      return;
    }
    process.stdout.write('ready\n');
  });
});
