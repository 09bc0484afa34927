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

/** An archive in a file, read at positions: the walk reads headers and passes over content without reading it. */
export class FileTarSource implements TarSource {
  private offset = 0;

  constructor(private readonly handle: FileHandle, readonly length: number) {}

  get position(): number {
    return this.offset;
  }

  async read(length: number): Promise<Buffer | undefined> {
    const bytes = await this.readAt(this.offset, length);
    if (bytes) this.offset += length;
    return bytes;
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
}
