import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { InvalidMetadataError, UnsafePathError } from '../errors.js';
import { parsePaxRecords, type TarErrors } from '../archive/tar-format.js';
import { FileTarSource } from '../archive/tar-sources.js';
import { walkTar } from '../archive/tar-walker.js';
import { ArchiveIndex, IndexedArchiveMedium } from './archive-index.js';

/**
 * A medium that is a plain (uncompressed) tar archive, read in place. Opening it reads the headers only,
 * seeking over the data, and builds an index; files are then served as ranged reads of the archive.
 * A compressed tar is not supported: it cannot be read at random, and a USB stick has room for the plain one.
 *
 * Formats: ustar, with PAX extended headers (`path`, `size`) and GNU long names (`L`). Hostile archives are
 * refused as a whole when opened (UnsafePathError), never partly served: unsafe names, symbolic and hard links,
 * device and FIFO entries, sparse files (GNU `S` or PAX `GNU.sparse.*`), duplicate names, global PAX headers
 * that change names or sizes, and entries whose data would run past the end of the file.
 */
export class TarMedium extends IndexedArchiveMedium<number> {
  private constructor(private readonly handle: FileHandle, private readonly archive: FileTarSource, index: ArchiveIndex<number>, archivePath: string) {
    super(`tar archive ${archivePath}`, index);
  }

  static async open(archivePath: string): Promise<TarMedium> {
    const handle = await open(archivePath, 'r');
    try {
      const archive = new FileTarSource(handle, (await handle.stat()).size);
      const index = await readIndex(archive, `tar archive ${archivePath}`);
      return new TarMedium(handle, archive, index, archivePath);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async readFile(path: string, maxBytes: number): Promise<Buffer> {
    const file = this.index.file(path, maxBytes);
    const bytes = await this.archive.readAt(file.location, file.size);
    if (!bytes) throw new InvalidMetadataError(`${this.description}: '${file.path}': unexpected end of file`);
    return bytes;
  }

  async open(path: string): Promise<Readable> {
    const file = this.index.file(path);
    if (file.size === 0) return Readable.from([]);
    // Positional reads on the shared descriptor: many files may be open at once, the medium closes it.
    return createReadStream('', { fd: this.handle.fd, autoClose: false, start: file.location, end: file.location + file.size - 1, highWaterMark: 1 << 20 });
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

const errors: TarErrors = {
  malformed: (message) => new InvalidMetadataError(message),
  unsafe: (message) => new UnsafePathError(message),
};

async function readIndex(archive: FileTarSource, description: string): Promise<ArchiveIndex<number>> {
  const index = new ArchiveIndex<number>(description);
  for await (const item of walkTar(archive, { what: description, errors, requireUstarMagic: true, requireEndBlock: false })) {
    if (item.kind === 'record') {
      if (item.type === 'K') throw new UnsafePathError(`${item.where} is a long link name; only regular files and directories are allowed`);
      if (Object.keys(parsePaxRecords(item.body, item.where, errors)).length > 0) throw new UnsafePathError(`${item.where}: a global PAX header must not set paths or sizes`);
      continue;
    }
    switch (item.type) {
      case '0':
      case '\0':
      case '7':
        index.addFile(item.path, { size: item.size, location: item.dataOffset });
        break;
      case '5':
        index.addDirectory(item.path);
        break;
      default:
        throw new UnsafePathError(`${item.where} ('${item.path}') is ${describeType(item.type)}; only regular files and directories are allowed`);
    }
  }
  return index;
}

function describeType(type: string): string {
  const names: Record<string, string> = {
    '1': 'a hard link',
    '2': 'a symbolic link',
    '3': 'a character device',
    '4': 'a block device',
    '6': 'a FIFO',
    'S': 'a sparse file',
  };
  return names[type] ?? `of unsupported type '${type}'`;
}
