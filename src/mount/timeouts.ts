/**
 * Every time limit of the daemon, in one place. Each bounds a wait on something that may never
 * answer (a stalled device, a vanished medium, the kernel); none is a performance knob. Nested
 * limits are ordered so that an inner one always fires first.
 */
export const TIMEOUTS = {
  /** Ordered mode: the journal is fdatasync'ed at most this often while anything is unsynced. */
  orderedSyncMs: 1_000,
  /** A FUSE request in flight longer than this is answered with EIO by the volume's sweep. */
  fuseOpMs: 30_000,
  /** FUSE INIT must arrive within this after the mount call. */
  mountInitMs: 15_000,
  /** Release: how long requests in flight may take before they are answered without the backing. */
  drainMs: 5_000,
  /** Release: each call on the backing (journal commit, image close, fstat). */
  releaseStepMs: 3_000,
  /** Release: the image's fdatasync fails after this long without a sector written... */
  syncStallMs: 3_000,
  /** ...or after this long in all. */
  syncCapMs: 120_000,
  /** A checkpoint waits this long for writes in flight (new writes stay paused meanwhile). */
  checkpointDrainMs: 10_000,
  /** After an image EIO, the probe read that tells a bad sector from a device that is gone. */
  probeMs: 3_000,
  /** Resume: the image must answer a stat within this, or the resume fails (it stays ejected). */
  resumeStatMs: 3_000,
  /** A non-lazy unmount waits this long for releases of descriptors closed just before it. */
  releaseGraceMs: 1_000,
  /** fusermount/umount may take this long (inside shutdownStepMs). */
  unmountMs: 8_000,
  /** Shutdown: each step after the release (unmount, socket close, registration removal). */
  shutdownStepMs: 9_000,
  /** The whole shutdown; pushed back while a long image sync still makes progress. */
  shutdownWatchdogMs: 20_000,
} as const;
