import { ContentVerificationError } from '../errors.js';

/**
 * A streaming reader of ustar/pax/GNU tar archives, pulling from an async source so that a slow consumer
 * (a file being written) holds the archive back instead of buffering it. It reports every entry as it is,
 * names and types unchecked: deciding what is acceptable is the caller's job.
 */

export type TarEntryType = 'file' | 'directory' | 'hard link' | 'symbolic link' | 'character device' | 'block device' | 'fifo' | 'other';

export interface TarReadEntry {
  readonly path: string;
  readonly type: TarEntryType;
  /** Bytes of content following the header. */
  readonly size: number;
  /** Permission bits from the header (0o7777 at most). */
  readonly mode: number;
  /** The entry's content; what the consumer leaves unread is skipped before the next entry. */
  content(): AsyncGenerator<Buffer>;
}

const BLOCK = 512;
const MAX_META_SIZE = 1 << 20;

const TYPES: Record<string, TarEntryType> = {
  '0': 'file', '\0': 'file', '1': 'hard link', '2': 'symbolic link', '3': 'character device',
  '4': 'block device', '5': 'directory', '6': 'fifo',
};

/**
 * Yields the archive's entries in order. After the end-of-archive blocks it reads the source to its end, so
 * that a verifying source gets to check its digest before the generator returns.
 * Malformed archives are a ContentVerificationError naming `what`.
 */
export async function* readTar(source: AsyncIterable<Buffer>, what: string): AsyncGenerator<TarReadEntry> {
  const bytes = new ByteSource(source[Symbol.asyncIterator](), what);
  let override: { path?: string; size?: number } = {};
  for (;;) {
    const header = await bytes.take(BLOCK);
    if (!header) throw new ContentVerificationError(`${what}: the archive ends without its end-of-archive block`);
    if (header.every((byte) => byte === 0)) break;
    checkChecksum(header, what);
    const typeFlag = String.fromCharCode(header[156]!);
    const size = override.size ?? parseOctal(header, 124, 12, what);
    const dataBlocks = Math.ceil(size / BLOCK) * BLOCK;
    if (typeFlag === 'x' || typeFlag === 'g' || typeFlag === 'L' || typeFlag === 'K') {
      if (size > MAX_META_SIZE) throw new ContentVerificationError(`${what}: a ${size}-byte tar extended header`);
      const body = await bytes.take(dataBlocks);
      if (!body) throw truncated(what);
      if (typeFlag === 'x') override = { ...override, ...parsePax(body.subarray(0, size), what) };
      if (typeFlag === 'L') override = { ...override, path: cString(body.subarray(0, size)) };
      continue;
    }
    const path = override.path ?? headerPath(header);
    override = {};
    let unread = size;
    yield {
      path,
      type: TYPES[typeFlag] ?? 'other',
      size,
      mode: parseOctal(header, 100, 8, what) & 0o7777,
      async *content() {
        for await (const chunk of bytes.stream(unread)) {
          unread -= chunk.length;
          yield chunk;
        }
      },
    };
    await bytes.skip(unread + dataBlocks - size);
  }
  await bytes.drain();
}

function truncated(what: string): ContentVerificationError {
  return new ContentVerificationError(`${what}: the archive is truncated`);
}

function checkChecksum(header: Buffer, what: string): void {
  let sum = 0;
  for (let index = 0; index < BLOCK; index++) sum += index >= 148 && index < 156 ? 0x20 : header[index]!;
  if (parseOctal(header, 148, 8, what) !== sum) throw new ContentVerificationError(`${what}: a tar header has a wrong checksum`);
}

function parseOctal(header: Buffer, offset: number, width: number, what: string): number {
  const text = header.toString('latin1', offset, offset + width).replace(/[\0 ]+$/, '').replace(/^ +/, '');
  if (!/^[0-7]{1,12}$/.test(text)) throw new ContentVerificationError(`${what}: a tar header field is not an octal number`);
  return parseInt(text, 8);
}

function cString(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.toString('utf8', 0, end < 0 ? bytes.length : end);
}

function headerPath(header: Buffer): string {
  const name = cString(header.subarray(0, 100));
  const isUstar = header.toString('latin1', 257, 262) === 'ustar';
  const prefix = isUstar ? cString(header.subarray(345, 500)) : '';
  return prefix ? `${prefix}/${name}` : name;
}

/** Pax records: `<length> <key>=<value>\n`, the length counting the whole record. */
function parsePax(body: Buffer, what: string): { path?: string; size?: number } {
  const result: { path?: string; size?: number } = {};
  for (let offset = 0; offset < body.length;) {
    const space = body.indexOf(0x20, offset);
    const length = space < 0 ? NaN : Number(body.toString('latin1', offset, space));
    if (!Number.isSafeInteger(length) || length <= 0 || offset + length > body.length || body[offset + length - 1] !== 0x0a) {
      throw new ContentVerificationError(`${what}: malformed pax header`);
    }
    const record = body.toString('utf8', space + 1, offset + length - 1);
    const equals = record.indexOf('=');
    const key = record.slice(0, equals);
    const value = record.slice(equals + 1);
    if (key === 'path') result.path = value;
    if (key === 'size') {
      if (!/^[0-9]{1,15}$/.test(value)) throw new ContentVerificationError(`${what}: malformed pax size ${JSON.stringify(value)}`);
      result.size = Number(value);
    }
    offset += length;
  }
  return result;
}

/** Exact-length reads over an async iterator of chunks. */
class ByteSource {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;

  constructor(private readonly iterator: AsyncIterator<Buffer>, private readonly what: string) {}

  /** Exactly `length` bytes, or undefined when the source ends first. */
  async take(length: number): Promise<Buffer | undefined> {
    while (this.buffered < length && (await this.pull()));
    if (this.buffered < length) return undefined;
    const all = Buffer.concat(this.chunks);
    this.chunks = all.length > length ? [all.subarray(length)] : [];
    this.buffered -= length;
    return all.subarray(0, length);
  }

  /** The next `length` bytes as they arrive. */
  async *stream(length: number): AsyncGenerator<Buffer> {
    for (let remaining = length; remaining > 0;) {
      if (this.buffered === 0 && !(await this.pull())) throw truncated(this.what);
      const chunk = this.chunks.shift()!;
      const piece = chunk.length > remaining ? chunk.subarray(0, remaining) : chunk;
      if (piece !== chunk) this.chunks.unshift(chunk.subarray(remaining));
      this.buffered -= piece.length;
      remaining -= piece.length;
      yield piece;
    }
  }

  async skip(length: number): Promise<void> {
    const chunks = this.stream(length);
    while (!(await chunks.next()).done);
  }

  /** Reads and drops everything left. */
  async drain(): Promise<void> {
    do {
      this.chunks = [];
      this.buffered = 0;
    } while (await this.pull());
  }

  private async pull(): Promise<boolean> {
    if (this.ended) return false;
    const next = await this.iterator.next();
    if (next.done) {
      this.ended = true;
      return false;
    }
    this.chunks.push(next.value);
    this.buffered += next.value.length;
    return true;
  }
}
