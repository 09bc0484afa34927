import { decodeLongName, decodeTarHeader, parsePaxRecords, TAR_BLOCK, tarPadding, type PaxAttributes, type TarErrors } from '../archive/tar-format.js';
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
  const errors: TarErrors = { malformed: (message) => new ContentVerificationError(message), unsafe: (message) => new ContentVerificationError(message) };
  let override: PaxAttributes = {};
  for (;;) {
    const header = await bytes.take(TAR_BLOCK);
    if (!header) throw new ContentVerificationError(`${what}: the archive ends without its end-of-archive block`);
    if (header.every((byte) => byte === 0)) break;
    const decoded = decodeTarHeader(header, `a tar header of ${what}`, errors);
    const size = override.size ?? decoded.size;
    const dataBlocks = size + tarPadding(size).length;
    if (decoded.type === 'x' || decoded.type === 'g' || decoded.type === 'L' || decoded.type === 'K') {
      if (size > MAX_META_SIZE) throw new ContentVerificationError(`${what}: a ${size}-byte tar extended header`);
      const body = await bytes.take(dataBlocks);
      if (!body) throw truncated(what);
      if (decoded.type === 'x') override = { ...override, ...parsePaxRecords(body.subarray(0, size), `a pax header of ${what}`, errors) };
      if (decoded.type === 'L') override = { ...override, path: decodeLongName(body.subarray(0, size)) };
      continue;
    }
    const path = override.path ?? decoded.name;
    override = {};
    let unread = size;
    yield {
      path,
      type: TYPES[decoded.type] ?? 'other',
      size,
      mode: decoded.mode,
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
