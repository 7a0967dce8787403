/** How the CLI fails: one line on stderr naming the problem, a documented exit code, no stack. */
export const EXIT = {
  ok: 0,
  /** The operation failed (bad image, busy, journal problem, daemon error...). */
  failure: 1,
  /** The command line was wrong. */
  usage: 2,
  /**
   * `changes --since`: the checkpoint is of another history or does not exist; the output lists the
   * whole image (copy everything) and stderr says why.
   */
  baseUnavailable: 3,
  /**
   * `changes --files`: the image holds no ext2/3/4 file system, so no file can be named; the
   * offsets are printed all the same.
   */
  noFileSystem: 4,
} as const;

export class CliError extends Error {
  constructor(message: string, readonly exitCode: number = EXIT.failure) {
    super(message);
  }
}

export function fail(message: string, exitCode: number = EXIT.failure): never {
  throw new CliError(message, exitCode);
}
