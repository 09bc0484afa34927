import { createHash, type Hash } from 'node:crypto';
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import { ContentVerificationError } from '../errors.js';
import type { Medium } from '../medium/medium.js';
import { hexOfDigest, type BlobDescriptor } from './descriptor.js';

/**
 * Reads blobs of the app store (`apps/blobs/sha256/<hex>`) so that no unverified byte is ever used as verified:
 * streams hash and count as they flow, small blobs are read whole under a size cap and checked before parsing.
 *
 * A blob that the chain points at but the medium lacks is a ContentVerificationError (exit 70), like a corrupt
 * download in aklite: the app is on the medium (its manifest was found), its content is incomplete.
 * Only an app absent as a whole is content missing (see `app-tree.ts`).
 */

export const BLOB_DIRECTORY = 'apps/blobs/sha256';

export function blobPath(digest: string): string {
  return `${BLOB_DIRECTORY}/${hexOfDigest(digest)}`;
}

/** A blob to find by digest alone (the app manifest, an image pinned in a compose file): its size is not known yet. */
export interface BlobToFind {
  readonly digest: string;
  readonly what: string;
}

function label(blob: BlobToFind): string {
  return `${blob.what} (blob ${blob.digest})`;
}

/**
 * Passes bytes through while hashing and counting them. Fails as soon as more bytes than expected arrive
 * (so a stream that never ends is cut short), and at the end on a short read or a digest mismatch.
 */
export class VerifyingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private received = 0;

  constructor(private readonly blob: BlobDescriptor) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.received += chunk.length;
    if (this.received > this.blob.size) {
      done(new ContentVerificationError(`${label(this.blob)}: more than the ${this.blob.size} bytes its descriptor gives`));
      return;
    }
    this.hash.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.received < this.blob.size) {
      done(new ContentVerificationError(`${label(this.blob)}: ${this.received} bytes, ${this.blob.size} expected`));
      return;
    }
    const actual = `sha256:${this.hash.digest('hex')}`;
    if (actual !== this.blob.digest) {
      done(new ContentVerificationError(`${label(this.blob)}: content has digest ${actual}, not the expected one`));
      return;
    }
    done();
  }
}

/** Size of the blob's file on the medium; a missing blob is refused. */
async function statBlob(medium: Medium, blob: BlobToFind): Promise<number> {
  const path = blobPath(blob.digest);
  const entry = await medium.stat(path);
  if (!entry || entry.type !== 'file') throw new ContentVerificationError(`${label(blob)}: missing from ${medium.description} (${path})`);
  return entry.size;
}

async function statBlobOfSize(medium: Medium, blob: BlobDescriptor): Promise<void> {
  const size = await statBlob(medium, blob);
  if (size !== blob.size) throw new ContentVerificationError(`${label(blob)}: ${size} bytes on the medium, ${blob.size} expected`);
}

/**
 * A stream of the blob's bytes that errors (ContentVerificationError) on overflow, short read or digest mismatch.
 * Bytes flow as they come: the stream's clean end is the verdict, so consumers treat what they wrote as
 * unverified until then (and discard it on error).
 */
export async function openVerifiedBlob(medium: Medium, blob: BlobDescriptor): Promise<Readable> {
  await statBlobOfSize(medium, blob);
  const source = await medium.open(blobPath(blob.digest));
  return pipeline(source, new VerifyingStream(blob), () => {});
}

/** Reads the whole blob through the verifier and returns its size (checks without keeping the bytes). */
export async function verifyBlob(medium: Medium, blob: BlobDescriptor, onBytes: (bytes: number) => void = () => {}): Promise<number> {
  const stream = await openVerifiedBlob(medium, blob);
  for await (const chunk of stream) onBytes((chunk as Buffer).length);
  return blob.size;
}

/** A small blob (JSON), read whole: its descriptor's size must be within `maxBytes`, and bytes are verified before return. */
export async function readVerifiedBlob(medium: Medium, blob: BlobDescriptor, maxBytes: number): Promise<Buffer> {
  if (blob.size > maxBytes) throw new ContentVerificationError(`${label(blob)}: claims ${blob.size} bytes, more than the ${maxBytes} allowed`);
  await statBlobOfSize(medium, blob);
  return checkBytes(blob, await medium.readFile(blobPath(blob.digest), blob.size));
}

/** A small blob known by digest only: its size is taken from the medium, capped, and the bytes checked against the digest. */
export async function findVerifiedBlob(medium: Medium, blob: BlobToFind, maxBytes: number): Promise<{ bytes: Buffer; size: number }> {
  const size = await statBlob(medium, blob);
  if (size > maxBytes) throw new ContentVerificationError(`${label(blob)}: ${size} bytes on the medium, more than the ${maxBytes} allowed`);
  const bytes = checkBytes({ ...blob, size, mediaType: '' }, await medium.readFile(blobPath(blob.digest), size));
  return { bytes, size };
}

function checkBytes(blob: BlobDescriptor, bytes: Buffer): Buffer {
  if (bytes.length !== blob.size) throw new ContentVerificationError(`${label(blob)}: ${bytes.length} bytes read, ${blob.size} expected`);
  const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  if (actual !== blob.digest) throw new ContentVerificationError(`${label(blob)}: content has digest ${actual}, not the expected one`);
  return bytes;
}
