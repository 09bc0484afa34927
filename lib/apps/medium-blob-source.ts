import { pipeline } from 'node:stream';
import { BlobNotFoundError, ContentVerificationError, FileTooLargeError } from '../errors.js';
import { appBlobPath } from '../medium/layout.js';
import type { Medium } from '../medium/medium.js';
import type { BlobSource } from '../oci/blob-source.js';
import { describeBlob, type BlobDescriptor, type BlobToFind } from '../oci/descriptor.js';
import { VerifyingStream, verifyBytes } from '../oci/verify.js';

/**
 * The blobs of a medium's app store (`apps/blobs/sha256/<hex>`) as a verified blob source. A blob's file must be
 * there, with the size its descriptor gives, before anything is read from it.
 *
 * A blob that the chain points at but the medium lacks is a BlobNotFoundError (exit 70), like a corrupt download
 * in aklite: the app is on the medium (its manifest was found), its content is incomplete. Only an app absent as
 * a whole is content missing (see `app-store.ts`), and the images of a platform the download did not fetch
 * (see `app-tree.ts`).
 */
export class MediumBlobSource implements BlobSource {
  constructor(private readonly medium: Medium) {}

  async open(blob: BlobDescriptor): Promise<VerifyingStream> {
    await this.requireSize(blob);
    return pipeline(await this.medium.open(appBlobPath(blob.digest)), new VerifyingStream(blob), () => {});
  }

  async read(blob: BlobDescriptor, maxBytes: number): Promise<Buffer> {
    if (blob.size > maxBytes) throw new ContentVerificationError(`${describeBlob(blob)}: claims ${blob.size} bytes, more than the ${maxBytes} allowed`);
    await this.requireSize(blob);
    return verifyBytes(blob, await this.readWhole(blob, blob.size));
  }

  async find(blob: BlobToFind, maxBytes: number): Promise<{ bytes: Buffer; size: number }> {
    const size = await this.sizeOf(blob);
    if (size > maxBytes) throw new ContentVerificationError(`${describeBlob(blob)}: ${size} bytes on the medium, more than the ${maxBytes} allowed`);
    const bytes = verifyBytes({ ...blob, size, mediaType: '' }, await this.readWhole(blob, size));
    return { bytes, size };
  }

  /** The blob's file, whose size was checked; a file that grew since is damaged content like any other. */
  private async readWhole(blob: BlobToFind, size: number): Promise<Buffer> {
    try {
      return await this.medium.readFile(appBlobPath(blob.digest), size);
    } catch (error) {
      if (error instanceof FileTooLargeError) throw new ContentVerificationError(`${describeBlob(blob)}: ${error.message}`, { cause: error });
      throw error;
    }
  }

  /** Size of the blob's file on the medium; a missing blob is refused. */
  private async sizeOf(blob: BlobToFind): Promise<number> {
    const path = appBlobPath(blob.digest);
    const entry = await this.medium.stat(path);
    if (!entry || entry.type !== 'file') throw new BlobNotFoundError(`${describeBlob(blob)}: missing from ${this.medium.description} (${path})`);
    return entry.size;
  }

  private async requireSize(blob: BlobDescriptor): Promise<void> {
    const size = await this.sizeOf(blob);
    if (size !== blob.size) throw new ContentVerificationError(`${describeBlob(blob)}: ${size} bytes on the medium, ${blob.size} expected`);
  }
}
