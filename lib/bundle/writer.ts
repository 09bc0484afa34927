import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { fsyncDirectory } from '../fs/atomic.js';
import { ContentVerificationError } from '../errors.js';
import type { StreamDigest } from './hashing.js';

/** One file to put in the bundle: its path in the layout, its size as listed, and how to read it. */
export interface BundleEntrySource {
  readonly path: string;
  readonly size: number;
  open(): Promise<Readable>;
}

export interface WrittenEntry {
  readonly digest: StreamDigest;
  /** True when a resumed `dir` write found the file already complete and left it alone. */
  readonly skipped: boolean;
}

/** A source file that changed between listing and copying would make the bundle lie about it. */
export function requireListedSize(entry: BundleEntrySource, digest: StreamDigest): void {
  if (digest.size !== entry.size) throw new ContentVerificationError(`${entry.path} changed while the bundle was written: ${digest.size} bytes read, ${entry.size} listed`);
}

/** Where `bundle create` puts the files, in the order given (sorted), then `finish` makes the result durable. */
export interface BundleWriter {
  write(entry: BundleEntrySource, onBytes: (bytes: number) => void): Promise<WrittenEntry>;
  finish(): Promise<void>;
  /** Removes what an unfinished archive write left; a `dir` write keeps its complete files for resuming. */
  abort(): Promise<void>;
}

/**
 * The archive file being written: appended to at a tracked position (with occasional patches behind it),
 * under a temporary name beside the destination until `commit` syncs it and renames it into place.
 */
export class ArchiveFile {
  position = 0;

  private constructor(private readonly handle: FileHandle, private readonly temporary: string, private readonly destination: string) {}

  static async create(destination: string): Promise<ArchiveFile> {
    await mkdir(dirname(destination), { recursive: true });
    const temporary = join(dirname(destination), `.${basename(destination)}.${randomBytes(4).toString('hex')}.partial`);
    return new ArchiveFile(await open(temporary, 'wx', 0o644), temporary, destination);
  }

  async append(bytes: Uint8Array): Promise<void> {
    await this.writeAt(bytes, this.position);
    this.position += bytes.length;
  }

  async writeAt(bytes: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.handle.write(bytes, done, bytes.length - done, position + done);
      done += bytesWritten;
    }
  }

  async commit(): Promise<void> {
    await this.handle.sync();
    await this.handle.close();
    await rename(this.temporary, this.destination);
    await fsyncDirectory(dirname(this.destination));
  }

  async abort(): Promise<void> {
    await this.handle.close().catch(() => {});
    await rm(this.temporary, { force: true });
  }
}
