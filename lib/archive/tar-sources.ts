import type { FileHandle } from 'node:fs/promises';
import type { TarSource } from './tar-walker.js';

/**
 * An archive arriving as a stream of chunks (a gunzipped blob), pulled only as the walk and the consumer of each
 * entry's content need it: a slow consumer holds the archive back instead of buffering it.
 */
export class StreamTarSource implements TarSource {
  readonly length = undefined;
  private consumed = 0;
  private queue: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private readonly iterator: AsyncIterator<Buffer>;

  constructor(stream: AsyncIterable<Buffer>) {
    this.iterator = stream[Symbol.asyncIterator]();
  }

  get position(): number {
    return this.consumed;
  }

  async read(length: number): Promise<Buffer | undefined> {
    while (this.buffered < length && (await this.pull()));
    if (this.buffered < length) return undefined;
    const all = Buffer.concat(this.queue);
    this.queue = all.length > length ? [all.subarray(length)] : [];
    this.buffered -= length;
    this.consumed += length;
    return all.subarray(0, length);
  }

  /** The next `length` bytes as they arrive; fewer when the stream ends first. */
  async *chunks(length: number): AsyncGenerator<Buffer> {
    for (let remaining = length; remaining > 0;) {
      if (this.buffered === 0 && !(await this.pull())) return;
      const chunk = this.queue.shift()!;
      const piece = chunk.length > remaining ? chunk.subarray(0, remaining) : chunk;
      if (piece !== chunk) this.queue.unshift(chunk.subarray(remaining));
      this.buffered -= piece.length;
      this.consumed += piece.length;
      remaining -= piece.length;
      yield piece;
    }
  }

  async skip(length: number): Promise<boolean> {
    const end = this.consumed + length;
    for await (const _piece of this.chunks(length));
    return this.consumed === end;
  }

  /** Reads and drops everything left, so that a verifying stream gets to check its digest. */
  async drain(): Promise<void> {
    do {
      this.queue = [];
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
    this.queue.push(next.value);
    this.buffered += next.value.length;
    return true;
  }
}

/** The first read-ahead: a page, what the kernel reads for a header anyway. */
const MIN_WINDOW = 4 << 10;
const MAX_WINDOW = 1 << 20;

/**
 * An archive in a file, read at positions: the walk reads headers and passes over content without reading it. Headers
 * come from a read-ahead window that doubles while the walk keeps reading through it (an archive of many small
 * entries: a few large reads instead of one system call per header) and shrinks back to a page when the walk jumps
 * past it (over a large entry, whose content is never read).
 */
export class FileTarSource implements TarSource {
  private offset = 0;
  private window: Buffer = Buffer.alloc(0);
  private windowStart = 0;
  private windowSize = MIN_WINDOW;

  constructor(private readonly handle: FileHandle, readonly length: number) {}

  get position(): number {
    return this.offset;
  }

  async read(length: number): Promise<Buffer | undefined> {
    const end = this.offset + length;
    if (end > this.length) return undefined;
    if ((this.offset < this.windowStart || end > this.windowStart + this.window.length) && !(await this.refill(length))) return undefined;
    const start = this.offset - this.windowStart;
    this.offset = end;
    return this.window.subarray(start, start + length);
  }

  async skip(length: number): Promise<boolean> {
    this.offset += length;
    return this.offset <= this.length;
  }

  /** `length` bytes at `position`, or undefined when the file ends first. */
  async readAt(position: number, length: number): Promise<Buffer | undefined> {
    const buffer = Buffer.alloc(length);
    for (let done = 0; done < length;) {
      const { bytesRead } = await this.handle.read(buffer, done, length - done, position + done);
      if (bytesRead === 0) return undefined;
      done += bytesRead;
    }
    return buffer;
  }

  /**
   * A new window at the offset (a new buffer: what earlier reads returned stays valid), holding at least `length`
   * bytes; false when the file ends first.
   */
  private async refill(length: number): Promise<boolean> {
    const gap = this.offset - (this.windowStart + this.window.length);
    this.windowSize = this.window.length > 0 && gap >= 0 && gap < this.windowSize ? Math.min(MAX_WINDOW, this.windowSize * 2) : MIN_WINDOW;
    const window = await this.readAt(this.offset, Math.min(Math.max(this.windowSize, length), this.length - this.offset));
    if (!window) return false;
    this.window = window;
    this.windowStart = this.offset;
    return true;
  }
}
