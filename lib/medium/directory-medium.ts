import { constants } from 'node:fs';
import { lstat, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { FileTooLargeError, MetadataNotFoundError, UnsafePathError } from '../errors.js';
import type { Medium, MediumEntry } from './medium.js';
import { safeRelativePath } from './safe-path.js';

/** A medium that is a directory in fioctl's layout. Links anywhere below the root are refused. */
export class DirectoryMedium implements Medium {
  readonly description: string;

  constructor(readonly localRoot: string) {
    this.description = `directory ${localRoot}`;
  }

  async stat(path: string): Promise<MediumEntry | undefined> {
    const safe = safeRelativePath(path);
    let current = this.localRoot;
    const parts = safe.split('/');
    for (let index = 0; index < parts.length; index++) {
      current = join(current, parts[index]!);
      let info;
      try {
        info = await lstat(current);
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
      if (info.isSymbolicLink()) throw new UnsafePathError(`${this.description}: '${parts.slice(0, index + 1).join('/')}' is a symbolic link`);
      const last = index === parts.length - 1;
      if (!last && !info.isDirectory()) return undefined;
      if (last) {
        if (info.isFile()) return { path: safe, type: 'file', size: info.size };
        if (info.isDirectory()) return { path: safe, type: 'directory', size: 0 };
        throw new UnsafePathError(`${this.description}: '${safe}' is neither a file nor a directory`);
      }
    }
    return undefined;
  }

  async list(path: string): Promise<string[]> {
    const entry = path === '' ? { type: 'directory' } : await this.stat(path);
    if (!entry || entry.type !== 'directory') return [];
    const names = await readdir(join(this.localRoot, path === '' ? '' : safeRelativePath(path)));
    return names.sort();
  }

  async readFile(path: string, maxBytes: number): Promise<Buffer> {
    const safe = await this.requireFile(path);
    const handle = await open(join(this.localRoot, safe), constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const { size } = await handle.stat();
      if (size > maxBytes) throw new FileTooLargeError(`${this.description}: ${safe}`, size, maxBytes);
      const buffer = Buffer.alloc(size);
      let offset = 0;
      while (offset < size) {
        const { bytesRead } = await handle.read(buffer, offset, size - offset, offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
      }
      return offset === size ? buffer : buffer.subarray(0, offset);
    } finally {
      await handle.close();
    }
  }

  async open(path: string): Promise<Readable> {
    const safe = await this.requireFile(path);
    const handle = await open(join(this.localRoot, safe), constants.O_RDONLY | constants.O_NOFOLLOW);
    // The stream owns the handle and closes it once: closing the raw fd as well would close whatever file reuses it.
    return handle.createReadStream({ autoClose: true, highWaterMark: 1 << 20 });
  }

  async close(): Promise<void> {}

  private async requireFile(path: string): Promise<string> {
    const entry = await this.stat(path);
    if (!entry) throw new MetadataNotFoundError(`${this.description}: '${path}' not found`);
    if (entry.type !== 'file') throw new UnsafePathError(`${this.description}: '${path}' is not a regular file`);
    return entry.path;
  }
}


function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
