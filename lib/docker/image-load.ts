import { Readable } from 'node:stream';
import { encodeTarHeader, TAR_BLOCK, tarPadding } from '../archive/tar-format.js';
import { ContentVerificationError, ImageLoadError } from '../errors.js';
import type { BlobDescriptor } from '../oci/descriptor.js';
import { ociBlobPath } from '../oci/image-layout.js';
import { MEDIA_TYPES } from '../oci/media-types.js';
import type { ProgressListener } from '../progress.js';
import type { DockerEngine } from './engine.js';
import type { LocalImageTag } from './image-ref.js';

/** One single-platform image to load: its manifest, config and layers, and the local tag it gets. */
export interface ImageToLoad<D extends BlobDescriptor = BlobDescriptor> {
  tag: LocalImageTag;
  manifest: D;
  config: D;
  layers: readonly D[];
}

/**
 * Opens a blob as a stream that checks the descriptor's digest and size while it is read, and errors
 * (before ending) when they do not match.
 */
export type OpenVerifiedBlob<D extends BlobDescriptor = BlobDescriptor> = (descriptor: D) => Promise<Readable>;

export interface ImageLoadOptions {
  /** Gets `bytes` events labelled with the image's local tag: blob bytes sent so far, out of the tar's total. */
  onProgress?: ProgressListener;
}

export interface ImageLoadResult<D extends BlobDescriptor = BlobDescriptor> {
  image: ImageToLoad<D>;
  /** `sha256:<config hex>`, the id Docker gives the image. */
  imageId: string;
  /** False when Docker already had the image: it was only tagged, and nothing was sent. */
  loaded: boolean;
  sentBytes: number;
}


/** Loads the images one after the other (each in its own request, so a failure names its image). */
export async function loadImages<D extends BlobDescriptor>(
  engine: DockerEngine, images: readonly ImageToLoad<D>[], open: OpenVerifiedBlob<D>, options: ImageLoadOptions = {},
): Promise<ImageLoadResult<D>[]> {
  const results: ImageLoadResult<D>[] = [];
  for (const image of images) results.push(await loadImage(engine, image, open, options));
  return results;
}

/**
 * Streams a docker-save + OCI layout tar of the image to `POST /images/load`, blob by blob straight from
 * `open`, with backpressure: no blob is ever held in memory. An image Docker already has is only tagged.
 * A blob failing verification aborts the request before the tar is complete, so Docker loads nothing.
 */
export async function loadImage<D extends BlobDescriptor>(
  engine: DockerEngine, image: ImageToLoad<D>, open: OpenVerifiedBlob<D>, options: ImageLoadOptions = {},
): Promise<ImageLoadResult<D>> {
  const imageId = image.config.digest;
  const { repository, tag } = image.tag;
  if (await engine.hasImage(imageId)) {
    await engine.tag(imageId, repository, tag);
    return { image, imageId, loaded: false, sentBytes: 0 };
  }

  const blobs = uniqueBlobs(image);
  const totalBytes = blobs.reduce((sum, blob) => sum + blob.size, 0);
  let sentBytes = 0;
  const countSent = (bytes: number) => {
    sentBytes += bytes;
    options.onProgress?.({ type: 'bytes', label: image.tag.reference, done: sentBytes, total: totalBytes });
  };

  const tar = Readable.from(imageTarChunks(image, blobs, open, countSent), { objectMode: false });
  let tarError: unknown;
  tar.on('error', (error) => (tarError = error));
  try {
    const messages = await engine.loadImageTar(tar).catch((error: unknown) => {
      throw tarError ?? new ImageLoadError(`docker load of ${image.tag.reference} failed: ${messageOf(error)}`, { cause: error });
    });
    const dockerError = await firstProgressError(messages).catch((error: unknown) => {
      throw tarError ?? new ImageLoadError(`docker load of ${image.tag.reference} broke off: ${messageOf(error)}`, { cause: error });
    });
    if (tarError) throw tarError;
    if (dockerError !== undefined) throw new ImageLoadError(`Docker refused to load ${image.tag.reference}: ${dockerError}`);
    if (!(await engine.hasImage(imageId))) {
      throw new ImageLoadError(`docker load of ${image.tag.reference} reported success but Docker has no image ${imageId}`);
    }
  } catch (error) {
    tar.destroy();
    await removePartialImage(engine, imageId);
    throw error;
  }
  return { image, imageId, loaded: true, sentBytes };
}

function uniqueBlobs<D extends BlobDescriptor>(image: ImageToLoad<D>): D[] {
  const byDigest = new Map<string, D>();
  for (const blob of [image.manifest, image.config, ...image.layers]) {
    if (!byDigest.has(blob.digest)) byDigest.set(blob.digest, blob);
  }
  return [...byDigest.values()];
}

function blobPath(descriptor: BlobDescriptor): string {
  return ociBlobPath(descriptor.digest);
}

/**
 * The tar Docker loads: `manifest.json` (what the classic image store reads), an OCI layout (`oci-layout`,
 * `index.json`: what the containerd image store reads), then every blob. Small entries come first; blobs are
 * streamed in, and a blob that errors (verification) ends the archive with that error, without a trailer.
 */
async function* imageTarChunks<D extends BlobDescriptor>(
  image: ImageToLoad<D>, blobs: D[], open: OpenVerifiedBlob<D>, countSent: (bytes: number) => void,
): AsyncGenerator<Buffer> {
  const dockerManifest = [{
    Config: blobPath(image.config),
    RepoTags: [image.tag.reference],
    Layers: image.layers.map(blobPath),
  }];
  const ociIndex = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociIndex,
    manifests: [{
      mediaType: image.manifest.mediaType,
      digest: image.manifest.digest,
      size: image.manifest.size,
      annotations: { 'io.containerd.image.name': image.tag.reference, 'org.opencontainers.image.ref.name': image.tag.tag },
    }],
  };
  for (const [path, value] of [
    ['manifest.json', dockerManifest],
    ['oci-layout', { imageLayoutVersion: '1.0.0' }],
    ['index.json', ociIndex],
  ] as const) {
    const content = Buffer.from(JSON.stringify(value));
    yield tarHeader(path, content.length);
    yield content;
    yield tarPadding(content.length);
  }
  for (const blob of blobs) {
    yield tarHeader(blobPath(blob), blob.size);
    let streamed = 0;
    for await (const chunk of await open(blob)) {
      const bytes = chunk as Buffer;
      streamed += bytes.length;
      if (streamed > blob.size) throw new ContentVerificationError(`blob ${blob.digest} is longer than its ${blob.size} bytes`);
      yield bytes;
      countSent(bytes.length);
    }
    if (streamed !== blob.size) throw new ContentVerificationError(`blob ${blob.digest} has ${streamed} bytes, not ${blob.size}`);
    yield tarPadding(blob.size);
  }
  yield Buffer.alloc(2 * TAR_BLOCK);
}

function tarHeader(path: string, size: number): Buffer {
  return encodeTarHeader({ path, type: '0', mode: 0o644, size, mtimeSeconds: 0 });
}

/** Reads Docker's whole progress stream (newline-separated JSON) and returns its first error, if any. */
async function firstProgressError(messages: Readable): Promise<string | undefined> {
  let pending = '';
  let error: string | undefined;
  const inspect = (line: string) => {
    if (!line.trim() || error !== undefined) return;
    const message = JSON.parse(line) as { error?: string; errorDetail?: { message?: string } };
    if (message.error !== undefined || message.errorDetail !== undefined) {
      error = message.errorDetail?.message ?? message.error ?? 'unknown error';
    }
  };
  for await (const chunk of messages) {
    pending += (chunk as Buffer).toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop()!;
    lines.forEach(inspect);
  }
  inspect(pending);
  return error;
}

/** A failed load must not leave an image behind; Docker creates none when the tar is cut short, but make sure. */
async function removePartialImage(engine: DockerEngine, imageId: string): Promise<void> {
  if (await engine.hasImage(imageId)) await engine.removeImage(imageId, { force: true });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
