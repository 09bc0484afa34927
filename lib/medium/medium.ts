import type { Readable } from 'node:stream';

export interface MediumEntry {
  readonly path: string;
  readonly type: 'file' | 'directory';
  readonly size: number;
}

/**
 * Read-only access to the content of an update medium, in fioctl's layout (`tuf/`, `apps/`, `ostree_repo/`),
 * whatever holds it: a directory, a tar or a zip archive. Every path is relative to the layout's root and is
 * checked with `safeRelativePath`; implementations never follow links nor leave the root.
 * Nothing read from a medium is trusted: callers verify it against TUF and the hash chain.
 */
export interface Medium {
  /** Human-readable origin, for messages: "directory /media/usb/update". */
  readonly description: string;
  /** A directory on the local file system holding the layout, when there is one (ostree needs a real path). */
  readonly localRoot: string | undefined;
  stat(path: string): Promise<MediumEntry | undefined>;
  /** Names of the entries directly under a directory, sorted; [] when the directory does not exist. */
  list(path: string): Promise<string[]>;
  /** The whole file, refusing files over `maxBytes` before reading them. */
  readFile(path: string, maxBytes: number): Promise<Buffer>;
  /** A stream of the file's bytes (callers hash while they read). */
  open(path: string): Promise<Readable>;
  close(): Promise<void>;
}
