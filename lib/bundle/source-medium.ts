import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { FileTooLargeError, MetadataNotFoundError } from '../errors.js';
import type { Medium, MediumEntry } from '../medium/medium.js';
import { safeRelativePath } from '../medium/safe-path.js';
import type { BundleSource } from './source.js';

/** The merged downloads seen as one medium, so that the device's own readers can check them on the host. */
export class SourceMedium implements Medium {
  readonly description: string;
  readonly localRoot = undefined;
  private readonly files = new Map<string, { localPath: string; size: number }>();
  private readonly directories = new Map<string, Set<string>>();

  constructor(source: Pick<BundleSource, 'directories' | 'files'>) {
    this.description = `download ${source.directories.join(' + ')}`;
    for (const file of source.files) {
      this.files.set(file.path, file);
      const parts = file.path.split('/');
      for (let depth = 0; depth < parts.length; depth++) {
        const parent = parts.slice(0, depth).join('/');
        let children = this.directories.get(parent);
        if (!children) this.directories.set(parent, (children = new Set()));
        children.add(parts[depth]!);
      }
    }
  }

  async stat(path: string): Promise<MediumEntry | undefined> {
    const safe = safeRelativePath(path);
    const file = this.files.get(safe);
    if (file) return { path: safe, type: 'file', size: file.size };
    return this.directories.has(safe) ? { path: safe, type: 'directory', size: 0 } : undefined;
  }

  async list(path: string): Promise<string[]> {
    return [...(this.directories.get(path === '' ? '' : safeRelativePath(path)) ?? [])].sort();
  }

  async readFile(path: string, maxBytes: number): Promise<Buffer> {
    const file = this.require(path);
    if (file.size > maxBytes) throw new FileTooLargeError(`${this.description}: ${path}`, file.size, maxBytes);
    const handle = await open(file.localPath, 'r');
    try {
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  }

  async open(path: string): Promise<Readable> {
    return createReadStream(this.require(path).localPath, { highWaterMark: 1 << 20 });
  }

  async close(): Promise<void> {}

  private require(path: string): { localPath: string; size: number } {
    const file = this.files.get(safeRelativePath(path));
    if (!file) throw new MetadataNotFoundError(`${this.description}: '${path}' not found`);
    return file;
  }
}
