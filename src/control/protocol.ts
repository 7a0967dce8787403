/**
 * The control channel between the CLI and a live daemon: one Unix socket per mount, one JSON
 * request per connection, one JSON reply line. Requests never touch the FUSE mount itself, so the
 * daemon answers in every lifecycle state.
 */
export type ControlRequest =
  | { op: 'status' }
  | { op: 'changes'; since?: string | null }
  | { op: 'checkpoint' }
  | { op: 'unmount'; lazy: boolean }
  | { op: 'sync' }
  | { op: 'eject' }
  | { op: 'resume' }
  /** Test hook, honoured only when the daemon runs with TRACKFS_TEST_HOOKS=1. */
  | { op: 'inject-fault'; target: 'journal'; io: 'write' | 'datasync' | 'read' | 'truncate' | 'none'; code: string };

export type ControlReply =
  | { ok: true; result: unknown }
  | { ok: false; error: { code: string; message: string } };

export const MAX_MESSAGE_BYTES = 1 << 20;
/** A change list of a big, scattered image is large; it is still one JSON line. */
export const MAX_REPLY_BYTES = 1 << 30;
