import { pipeline, type Readable } from 'node:stream';
import { ContentVerificationError } from '../errors.js';
import { appBlobPath } from '../medium/layout.js';
import type { Medium } from '../medium/medium.js';
import { describeBlob, type BlobDescriptor, type BlobToFind } from '../oci/descriptor.js';
import { VerifyingStream, verifyBytes } from '../oci/verify.js';

/**
 * Reads blobs of the app store (`apps/blobs/sha256/<hex>`) so that no unverified byte is ever used as verified:
 * streams hash and count as they flow, small blobs are read whole under a size cap and checked before parsing.
 *
 * A blob that the chain points at but the medium lacks is a ContentVerificationError (exit 70), like a corrupt
 * download in aklite: the app is on the medium (its manifest was found), its content is incomplete.
 * Only an app absent as a whole is content missing (see `app-tree.ts`).
 */

/** Size of the blob's file on the medium; a missing blob is refused. */
async function statBlob(medium: Medium, blob: BlobToFind): Promise<number> {
  const path = appBlobPath(blob.digest);
  const entry = await medium.stat(path);
  if (!entry || entry.type !== 'file') throw new ContentVerificationError(`${describeBlob(blob)}: missing from ${medium.description} (${path})`);
  return entry.size;
}

async function statBlobOfSize(medium: Medium, blob: BlobDescriptor): Promise<void> {
  const size = await statBlob(medium, blob);
  if (size !== blob.size) throw new ContentVerificationError(`${describeBlob(blob)}: ${size} bytes on the medium, ${blob.size} expected`);
}

/**
 * A stream of the blob's bytes that errors (ContentVerificationError) on overflow, short read or digest mismatch.
 * Bytes flow as they come: the stream's clean end is the verdict, so consumers treat what they wrote as
 * unverified until then (and discard it on error).
 */
export async function openVerifiedBlob(medium: Medium, blob: BlobDescriptor): Promise<Readable> {
  await statBlobOfSize(medium, blob);
  const source = await medium.open(appBlobPath(blob.digest));
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
  if (blob.size > maxBytes) throw new ContentVerificationError(`${describeBlob(blob)}: claims ${blob.size} bytes, more than the ${maxBytes} allowed`);
  await statBlobOfSize(medium, blob);
  return verifyBytes(blob, await medium.readFile(appBlobPath(blob.digest), blob.size));
}

/** A small blob known by digest only: its size is taken from the medium, capped, and the bytes checked against the digest. */
export async function findVerifiedBlob(medium: Medium, blob: BlobToFind, maxBytes: number): Promise<{ bytes: Buffer; size: number }> {
  const size = await statBlob(medium, blob);
  if (size > maxBytes) throw new ContentVerificationError(`${describeBlob(blob)}: ${size} bytes on the medium, more than the ${maxBytes} allowed`);
  const bytes = verifyBytes({ ...blob, size, mediaType: '' }, await medium.readFile(appBlobPath(blob.digest), size));
  return { bytes, size };
}
