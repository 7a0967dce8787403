/**
 * Notices that our mount left the mount table without us (umount, fusermount -u, umount -l by
 * someone else): fuse-native reports nothing, and the daemon would otherwise live on forever.
 * Linux only (polls /proc/self/mountinfo); elsewhere it does nothing.
 */
import { readMounts } from '../util/mountinfo.js';

const POLL_MS = 250;

export class MountWatch {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;

  constructor(private readonly mountpoint: string, private readonly fsname: string, private readonly onGone: () => void) {}

  start(): void {
    if (process.platform !== 'linux') return;
    this.timer = setInterval(() => void this.poll(), POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async poll(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const mounts = await readMounts();
      if (!mounts || !this.timer) return;
      const present = mounts.some((m) => m.source === this.fsname && m.mountPoint === this.mountpoint);
      if (!present) {
        this.stop();
        this.onGone();
      }
    } finally {
      this.busy = false;
    }
  }
}
