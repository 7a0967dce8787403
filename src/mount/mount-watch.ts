/**
 * Watches the mount table for two things fuse-native never reports:
 *  - our own mount leaving it (umount, fusermount -u, umount -l by someone else);
 *  - the volume that holds the image or the journal leaving it (a desktop's forced eject does
 *    `umount -l /media/usb`): trackfs must then let go of its handles there, or the file system
 *    can never really be released.
 * Linux only (polls /proc/self/mountinfo every 250 ms); elsewhere it does nothing.
 */
import { readMounts } from '../util/mountinfo.js';

const POLL_MS = 250;

export interface WatchedVolume {
  /** What lives there, for messages: "image", "journal". */
  what: string;
  /** major:minor of the file's st_dev, as mountinfo writes it. */
  device: string;
}

export interface MountWatchHandlers {
  ownMountGone(): void;
  backingGone(volume: WatchedVolume): void;
}

export class MountWatch {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private backing: WatchedVolume[] = [];

  constructor(private readonly mountpoint: string, private readonly fsname: string, private readonly handlers: MountWatchHandlers) {}

  start(): void {
    if (process.platform !== 'linux' || this.timer) return;
    this.timer = setInterval(() => void this.poll(), POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    this.pause();
    this.backing = [];
  }

  /** Stops polling but remembers what it watches (our own unmount is under way). */
  pause(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * Watches these volumes from now on. A volume not in the table now (a block device, a btrfs
   * subvolume whose st_dev mountinfo does not show) cannot be watched this way and is skipped.
   */
  async watchBacking(volumes: WatchedVolume[]): Promise<WatchedVolume[]> {
    const mounts = await readMounts();
    if (!mounts) return [];
    this.backing = volumes.filter((v) => mounts.some((m) => m.majorMinor === v.device));
    return this.backing;
  }

  unwatchBacking(): void {
    this.backing = [];
  }

  private async poll(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const mounts = await readMounts();
      if (!mounts || !this.timer) return;
      if (!mounts.some((m) => m.source === this.fsname && m.mountPoint === this.mountpoint)) {
        this.stop();
        this.handlers.ownMountGone();
        return;
      }
      const gone = this.backing.filter((v) => !mounts.some((m) => m.majorMinor === v.device));
      if (gone.length > 0) {
        this.backing = this.backing.filter((v) => !gone.includes(v));
        for (const v of gone) this.handlers.backingGone(v);
      }
    } finally {
      this.busy = false;
    }
  }
}
