import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import type { ImageBlobs, ImageToLoad } from '../../lib/docker/image-load.js';
import { localImageTag } from '../../lib/docker/image-ref.js';
import type { BlobDescriptor } from '../../lib/oci/descriptor.js';
import { parsePinnedReference } from '../../lib/oci/pinned-reference.js';
import { VerifyingStream } from '../../lib/oci/verify.js';
import type { BlobStore } from '../../fixtures/oci/blob-store.js';

/**
 * Test stand-ins for what lib/apps hands the loader: the amd64 image of a fixture index, and a blob opener that
 * verifies digest and size while streaming. `corrupt` flips one byte of one blob on its way out of the store.
 */

export async function imageToLoad(store: BlobStore, pinnedRef: string): Promise<ImageToLoad> {
  const pinned = parsePinnedReference(pinnedRef)!;
  const index = JSON.parse(await readFile(store.pathOf(pinned.digest), 'utf8')) as { manifests: (OciDescriptor & { platform: { architecture: string } })[] };
  const entry = index.manifests.find((manifest) => manifest.platform.architecture === 'amd64')!;
  const manifest = JSON.parse(await readFile(store.pathOf(entry.digest), 'utf8')) as { config: OciDescriptor; layers: OciDescriptor[] };
  return {
    tag: localImageTag(pinned),
    manifest: labelled(entry, `manifest of ${pinnedRef}`),
    config: labelled(manifest.config, `config of ${pinnedRef}`),
    layers: manifest.layers.map((layer, position) => labelled(layer, `layer ${position + 1} of ${pinnedRef}`)),
  };
}

type OciDescriptor = Omit<BlobDescriptor, 'what'>;

function labelled({ mediaType, digest, size }: OciDescriptor, what: string): BlobDescriptor {
  return { mediaType, digest, size, what };
}

export function verifiedOpener(store: BlobStore, corrupt?: { digest: string; offset: number }): ImageBlobs {
  return {
    open: async (descriptor) => {
      const file: Readable = createReadStream(store.pathOf(descriptor.digest));
      const source = corrupt?.digest === descriptor.digest ? file.pipe(flipByteAt(corrupt.offset)) : file;
      return source.pipe(new VerifyingStream(descriptor));
    },
  };
}

function flipByteAt(offset: number): Transform {
  let position = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const copy = Buffer.from(chunk);
      if (offset >= position && offset < position + copy.length) copy[offset - position]! ^= 0xff;
      position += copy.length;
      done(null, copy);
    },
  });
}
