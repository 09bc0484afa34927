import { pumpHashing } from './hashing.js';
import { ArchiveFile, requireListedSize, type BundleEntrySource, type BundleWriter, type WrittenEntry } from './writer.js';

const BLOCK = 512;
const MAX_OCTAL_SIZE = 0o77777777777;
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
    await this.writeParents(entry.path);
    await this.writeHeader(entry.path, '0', FILE_MODE, entry.size);
    const digest = await pumpHashing(await entry.open(), (chunk) => this.file.append(chunk), onBytes);
    requireListedSize(entry, digest);
    await this.file.append(padding(entry.size));
    return { digest, skipped: false };
  }

  async finish(): Promise<void> {
    await this.file.append(Buffer.alloc(2 * BLOCK));
    await this.file.commit();
  }

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

  private async writeHeader(name: string, type: '0' | '5', mode: number, size: number): Promise<void> {
    const split = splitUstarName(name);
    const records: Array<[string, string]> = [];
    if (!split) records.push(['path', name]);
    if (size > MAX_OCTAL_SIZE) records.push(['size', String(size)]);
    if (records.length > 0) {
      const pax = paxRecords(records);
      await this.file.append(header({ name: 'PaxHeader', prefix: '' }, 'x', FILE_MODE, pax.length, this.mtimeSeconds));
      await this.file.append(pax);
      await this.file.append(padding(pax.length));
    }
    const fitted = split ?? { name: Buffer.from(name).subarray(0, 100).toString('utf8'), prefix: '' };
    await this.file.append(header(fitted, type, mode, size > MAX_OCTAL_SIZE ? 0 : size, this.mtimeSeconds));
  }
}

/** ustar keeps names up to 100 bytes, or 155 + '/' + 100 when split at a slash. */
function splitUstarName(name: string): { name: string; prefix: string } | undefined {
  if (Buffer.byteLength(name) <= 100) return { name, prefix: '' };
  for (let slash = name.indexOf('/'); slash !== -1; slash = name.indexOf('/', slash + 1)) {
    const prefix = name.slice(0, slash);
    const rest = name.slice(slash + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest !== '') return { name: rest, prefix };
  }
  return undefined;
}

function header(name: { name: string; prefix: string }, type: string, mode: number, size: number, mtime: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(name.name, 0, 100, 'utf8');
  octal(block, 100, 8, mode);
  octal(block, 108, 8, 0);
  octal(block, 116, 8, 0);
  octal(block, 124, 12, size);
  octal(block, 136, 12, mtime);
  block.write(type, 156, 1, 'latin1');
  block.write('ustar\u000000', 257, 8, 'latin1');
  octal(block, 329, 8, 0);
  octal(block, 337, 8, 0);
  block.write(name.prefix, 345, 155, 'utf8');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'latin1');
  return block;
}

function octal(block: Buffer, offset: number, length: number, value: number): void {
  block.write(`${value.toString(8).padStart(length - 1, '0')}\u0000`, offset, length, 'latin1');
}

/** `<length> <key>=<value>\n`, where the length counts its own digits. */
function paxRecords(records: Array<[string, string]>): Buffer {
  return Buffer.concat(records.map(([key, value]) => {
    const body = ` ${key}=${value}\n`;
    let length = Buffer.byteLength(body) + 1;
    while (String(length).length + Buffer.byteLength(body) !== length) length++;
    return Buffer.from(`${length}${body}`);
  }));
}

function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}
