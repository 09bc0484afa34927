import { encodeTarHeader, TAR_BLOCK, tarPadding } from '../archive/tar-format.js';
import type { ProgressListener } from '../progress.js';
import { pumpHashing } from './hashing.js';
import type { ReadBack } from './read-back.js';
import { ArchiveFile, requireListedSize, type BundleEntrySource, type BundleWriter, type WrittenEntry } from './writer.js';

const FILE_MODE = 0o644;
const DIRECTORY_MODE = 0o755;

/**
 * Writes a plain ustar archive that reads back through TarMedium and unpacks with any tar: entries in the
 * order given (callers sort them), each parent directory before its first file, owner 0:0 with no user
 * names, modes 0644/0755, every mtime the bundle's creation time. Names over ustar's limits and sizes over
 * 8 GiB go in PAX records. Same entries and time, same bytes.
 */
export class TarBundleWriter implements BundleWriter {
  private readonly writtenDirectories = new Set<string>();

  private constructor(private readonly file: ArchiveFile, private readonly mtimeSeconds: number) {}

  static async create(destination: string, createdAt: Date): Promise<TarBundleWriter> {
    return new TarBundleWriter(await ArchiveFile.create(destination), Math.floor(createdAt.getTime() / 1000));
  }

  async write(entry: BundleEntrySource, onBytes: (bytes: number) => void): Promise<WrittenEntry> {
    this.file.beginRange(entry.path);
    await this.writeParents(entry.path);
    await this.writeHeader(entry.path, '0', FILE_MODE, entry.size);
    const digest = await pumpHashing(await entry.open(), (chunk) => this.file.append(chunk), onBytes);
    requireListedSize(entry, digest);
    await this.file.append(tarPadding(entry.size));
    return { digest, skipped: false };
  }

  readBack(onProgress: ProgressListener): Promise<ReadBack> {
    return this.file.readBack(onProgress);
  }

  async finish(): Promise<void> {
    this.file.beginRange('the end-of-archive blocks');
    await this.file.append(Buffer.alloc(2 * TAR_BLOCK));
    await this.file.commit();
  }

  async complete(): Promise<void> {}

  async abort(): Promise<void> {
    await this.file.abort();
  }

  private async writeParents(path: string): Promise<void> {
    const parts = path.split('/').slice(0, -1);
    for (let depth = 1; depth <= parts.length; depth++) {
      const directory = parts.slice(0, depth).join('/');
      if (this.writtenDirectories.has(directory)) continue;
      this.writtenDirectories.add(directory);
      await this.writeHeader(`${directory}/`, '5', DIRECTORY_MODE, 0);
    }
  }

  private async writeHeader(path: string, type: '0' | '5', mode: number, size: number): Promise<void> {
    await this.file.append(encodeTarHeader({ path, type, mode, size, mtimeSeconds: this.mtimeSeconds }));
  }
}
