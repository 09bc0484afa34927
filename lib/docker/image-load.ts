import { Readable } from 'node:stream';
import { encodeTarHeader, TAR_BLOCK, tarPadding } from '../archive/tar-format.js';
import { ImageLoadError } from '../errors.js';
import { outOfSpace } from '../fs/system-errors.js';
import type { BlobSource } from '../oci/blob-source.js';
import type { BlobDescriptor } from '../oci/descriptor.js';
import { ociBlobPath } from '../oci/image-layout.js';
import { MEDIA_TYPES } from '../oci/media-types.js';
import type { ProgressListener } from '../progress.js';
import { engineUnavailable, type DockerEngine } from './engine.js';
import type { LocalImageTag } from './image-ref.js';
import { LayerMeasure, type Expansion, type ExpansionGuard } from './layer-expansion.js';

/** One single-platform image to load: its manifest, config and layers, and the local tag it gets. */
export interface ImageToLoad {
  /** What progress calls it ("web: nginx"); default: the local tag. */
  name?: string;
  tag: LocalImageTag;
  manifest: BlobDescriptor;
  config: BlobDescriptor;
  layers: readonly BlobDescriptor[];
  /**
   * Bytes each layer extracts to, by digest, as the app's signed layers-meta gives them: a guarded load counts those
   * layers at that size instead of decompressing them on the way (the space check counted them so too). Layers not
   * listed are measured as they stream.
   */
  announcedExpansion?: ReadonlyMap<string, number>;
}

/** The blobs are streamed from a verified source: a blob's stream gives exactly its size in bytes, or errors. */
export type ImageBlobs = Pick<BlobSource, 'open'>;

export interface ImageLoadOptions {
  /** Gets `bytes` events labelled with the image's local tag: blob bytes sent so far, out of the tar's total. */
  onProgress?: ProgressListener;
  /** Aborting it breaks the load off: Docker gets a truncated tar and loads nothing. */
  signal?: AbortSignal;
  /** Measures the layers as they stream and breaks the load off before Docker extracts what would not fit. */
  guard?: ExpansionGuard;
}

export interface ImageLoadResult {
  image: ImageToLoad;
  /** `sha256:<config hex>`, the id Docker gives the image. */
  imageId: string;
  /** False when Docker already had the image: it was only tagged, and nothing was sent. */
  loaded: boolean;
  sentBytes: number;
}

/**
 * Streams a docker-save + OCI layout tar of the image to `POST /images/load`, blob by blob straight from
 * `blobs`, with backpressure: no blob is ever held in memory. An image Docker already has is only tagged.
 * A blob failing verification aborts the request before the tar is complete, so Docker loads nothing.
 */
export async function loadImage(
  engine: DockerEngine, image: ImageToLoad, blobs: ImageBlobs, options: ImageLoadOptions = {},
): Promise<ImageLoadResult> {
  const imageId = image.config.digest;
  const { repository, tag } = image.tag;
  options.signal?.throwIfAborted();
  await requireLoadableLayers(engine, image);
  if (await engine.hasImage(imageId)) {
    await engine.tag(imageId, repository, tag);
    return { image, imageId, loaded: false, sentBytes: 0 };
  }

  const contents = uniqueBlobs(image);
  const totalBytes = contents.reduce((sum, blob) => sum + blob.size, 0);
  let sentBytes = 0;
  const countSent = (bytes: number) => {
    sentBytes += bytes;
    options.onProgress?.({ type: 'bytes', label: image.tag.reference, done: sentBytes, total: totalBytes });
  };

  const room: Room = { reservation: undefined };
  const tar = Readable.from(imageTarChunks(image, contents, blobs, countSent, options.guard, room), { objectMode: false });
  let tarError: unknown;
  tar.on('error', (error) => (tarError = error));
  const abort = () => tar.destroy(options.signal!.reason as Error);
  options.signal?.addEventListener('abort', abort, { once: true });
  try {
    const messages = await engine.loadImageTar(tar).catch((error: unknown) => {
      throw tarError ?? engineUnavailable(error) ?? new ImageLoadError(`docker load of ${image.tag.reference} failed: ${messageOf(error)}`, { cause: error });
    });
    const dockerError = await firstProgressError(messages).catch((error: unknown) => {
      throw tarError ?? engineUnavailable(error) ?? new ImageLoadError(`docker load of ${image.tag.reference} broke off: ${messageOf(error)}`, { cause: error });
    });
    if (tarError) throw tarError;
    if (dockerError !== undefined) throw await refusal(engine, image, dockerError);
    if (!(await engine.hasImage(imageId))) {
      throw new ImageLoadError(`docker load of ${image.tag.reference} reported success but Docker has no image ${imageId}`);
    }
  } catch (error) {
    tar.destroy();
    // Not to hide why the load failed: with dockerd gone, what it kept is for the next install to remove.
    await removePartialImage(engine, imageId).catch(() => undefined);
    throw error;
  } finally {
    room.reservation?.release();
    options.signal?.removeEventListener('abort', abort);
  }
  return { image, imageId, loaded: true, sentBytes };
}

/**
 * Docker decompresses zstd layers since 23.0 (moby's pkg/archive); 20.10 fails on them in the middle of the load
 * ("archive/tar: invalid tar header"). Refused before anything is sent, naming the layer and the engine.
 */
const FIRST_DOCKER_MAJOR_WITH_ZSTD = 23;

async function requireLoadableLayers(engine: DockerEngine, image: ImageToLoad): Promise<void> {
  const zstd = image.layers.find((layer) => layer.mediaType.endsWith('+zstd'));
  if (!zstd) return;
  const { version } = await engine.version();
  if (Number(/^(\d+)\./.exec(version)?.[1] ?? 0) >= FIRST_DOCKER_MAJOR_WITH_ZSTD) return;
  throw new ImageLoadError(
    `${zstd.what} is zstd-compressed (${zstd.mediaType}), which Docker ${version} cannot load: ` +
      `it needs Docker ${FIRST_DOCKER_MAJOR_WITH_ZSTD}.0 or newer on the device, or the image published with gzip layers`,
  );
}

function uniqueBlobs(image: ImageToLoad): BlobDescriptor[] {
  const byDigest = new Map<string, BlobDescriptor>();
  for (const blob of [image.manifest, image.config, ...image.layers]) {
    if (!byDigest.has(blob.digest)) byDigest.set(blob.digest, blob);
  }
  return [...byDigest.values()];
}

/** The room an image's layers hold on Docker's filesystem from the end of its tar until Docker extracted them. */
interface Room {
  reservation: { release(): void } | undefined;
}

/** A guard is asked again whenever a layer expanded by this much more since it was last asked. */
const GUARD_CHECK_BYTES = 4 * 1024 * 1024;

/**
 * The tar Docker loads: `manifest.json` (what the classic image store reads), an OCI layout (`oci-layout`,
 * `index.json`: what the containerd image store reads), then every blob. Small entries come first; blobs are
 * streamed in, and a blob that errors (verification) ends the archive with that error, without a trailer.
 * A blob's header gives its descriptor's size: the verified stream gives exactly that many bytes or errors.
 * With a guard, each layer is measured as it goes by, and the guard's refusal ends the archive the same way,
 * before its trailer: Docker, which extracts nothing before the end, loads nothing.
 */
async function* imageTarChunks(
  image: ImageToLoad, contents: readonly BlobDescriptor[], blobs: ImageBlobs, countSent: (bytes: number) => void,
  guard: ExpansionGuard | undefined, room: Room,
): AsyncGenerator<Buffer> {
  const dockerManifest = [{
    Config: ociBlobPath(image.config.digest),
    RepoTags: [image.tag.reference],
    Layers: image.layers.map((layer) => ociBlobPath(layer.digest)),
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
  const layers = new Set(image.layers.map((layer) => layer.digest));
  const expanded = { bytes: 0, entries: 0 as number | undefined };
  for (const blob of contents) {
    const announced = layers.has(blob.digest) ? image.announcedExpansion?.get(blob.digest) : undefined;
    if (announced !== undefined) add(expanded, { bytes: announced, entries: undefined });
    const measure = guard && layers.has(blob.digest) && announced === undefined ? new LayerMeasure(blob) : undefined;
    let checked = expanded.bytes;
    try {
      yield tarHeader(ociBlobPath(blob.digest), blob.size);
      for await (const chunk of await blobs.open(blob)) {
        const bytes = chunk as Buffer;
        yield bytes;
        countSent(bytes.length);
        if (!measure) continue;
        await measure.write(bytes);
        if (expanded.bytes + measure.expandedBytes - checked >= GUARD_CHECK_BYTES) {
          checked = expanded.bytes + measure.expandedBytes;
          guard!.check(image.tag.reference, { bytes: checked, entries: undefined });
        }
      }
      yield tarPadding(blob.size);
      const layer = await measure?.end();
      if (layer) add(expanded, layer);
    } finally {
      measure?.destroy();
    }
  }
  if (guard) {
    guard.check(image.tag.reference, expanded);
    room.reservation = guard.reserve(expanded);
  }
  yield Buffer.alloc(2 * TAR_BLOCK);
}

function add(total: { bytes: number; entries: number | undefined }, layer: Expansion): void {
  total.bytes += layer.bytes;
  total.entries = total.entries === undefined || layer.entries === undefined ? undefined : total.entries + layer.entries;
}

/** Docker's refusal of a load; out of space (its ENOSPC, in words) is out of space, with the filesystem's numbers. */
async function refusal(engine: DockerEngine, image: ImageToLoad, message: string): Promise<Error> {
  if (/no space left on device|disk quota exceeded/i.test(message)) {
    const root = await engine.rootDir().catch(() => undefined);
    if (root) return outOfSpace(root, `Docker could not load ${image.tag.reference}`, new Error(message));
  }
  return new ImageLoadError(`Docker refused to load ${image.tag.reference}: ${message}`);
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
