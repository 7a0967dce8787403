// Minimal typing of fuse-native 2.2.6 as trackfs uses it (the package ships none).
declare module 'fuse-native' {
  type Cb = (result: number, ...rest: unknown[]) => void;
  export interface FuseOps {
    [op: string]: ((...args: any[]) => void) | undefined;
  }
  class Fuse {
    constructor(mnt: string, ops: FuseOps, opts?: Record<string, unknown>);
    mnt: string;
    opts: Record<string, unknown>;
    _thread: Buffer | null;
    mount(cb: (err: Error | null) => void): void;
    unmount(cb: (err: Error | null) => void): void;
    _fuseOptions(): string;
    _close(cb: (err: Error | null) => void): void;
    static unmount(mnt: string, cb: (err: Error | null) => void): void;
  }
  export type { Cb };
  export default Fuse;
}
