import { ignoreProgress, type ProgressListener } from '../progress.js';
import { withStreamingHeap } from '../streaming-heap.js';
import type { DockerEngine } from './engine.js';
import { loadImage, type ImageBlobs, type ImageLoadResult, type ImageToLoad } from './image-load.js';
import type { ExpansionGuard } from './layer-expansion.js';

export interface LoadImagesOptions {
  /** How many load requests at once: dockerd inflates and registers each request's layers on one core. */
  readonly concurrency: number;
  /** `bytes` events for all the images together, labelled `label`, and an `item` event per image done. */
  readonly onProgress?: ProgressListener;
  readonly label?: string;
  /** Hears of every image loaded (or only tagged), as soon as it is, so that a failure elsewhere can undo it. */
  readonly onLoaded?: (result: ImageLoadResult) => void;
  /** Watches the filesystem the layers extract to (see `ExpansionGuard`). */
  readonly guard?: ExpansionGuard;
}

/**
 * Loads the images, several at once. An image that shares a layer with an earlier one waits until the first image
 * with that layer is in: Docker then registers the shared layer once, and the later loads find it registered instead
 * of inflating it again (images sharing only a base layer load side by side once the base is in).
 * The first failure breaks off the loads under way (Docker keeps nothing of a broken-off load) and starts no more;
 * it is thrown once they have all stopped.
 */
export function loadImagesConcurrently(
  engine: DockerEngine, images: readonly ImageToLoad[], blobs: ImageBlobs, options: LoadImagesOptions,
): Promise<ImageLoadResult[]> {
  return withStreamingHeap(() => loadAll(engine, images, blobs, options));
}

async function loadAll(engine: DockerEngine, images: readonly ImageToLoad[], blobs: ImageBlobs, options: LoadImagesOptions): Promise<ImageLoadResult[]> {
  const waitsFor = images.map((_image, index) => registrarsOf(images, index));
  const done = images.map(() => false);
  const started = images.map(() => false);
  const results: ImageLoadResult[] = [];
  const abort = new AbortController();
  const progress = new ImagesProgress(options.label ?? 'images', images.map((image) => ({ name: image.name ?? image.tag.reference, bytes: bytesOf(image) })), options.onProgress);
  let failure: unknown;

  const ready = (index: number) => !started[index] && waitsFor[index]!.every((earlier) => done[earlier]);

  await new Promise<void>((resolve) => {
    let running = 0;
    const launch = () => {
      for (let index = 0; index < images.length && running < options.concurrency && failure === undefined; index++) {
        if (!ready(index)) continue;
        started[index] = true;
        running++;
        const image = images[index]!;
        progress.start(index);
        loadImage(engine, image, blobs, {
          signal: abort.signal,
          onProgress: (event) => event.type === 'bytes' && progress.set(index, event.done),
          ...(options.guard ? { guard: options.guard } : {}),
        })
          .then((result) => {
            results.push(result);
            options.onLoaded?.(result);
            progress.finish(index, result.loaded ? 'loaded' : 'already in Docker', result.sentBytes);
          }, (error: unknown) => {
            if (failure === undefined) {
              failure = error;
              abort.abort(error);
            }
          })
          .finally(() => {
            done[index] = true;
            running--;
            launch();
            if (running === 0 && (failure !== undefined || done.every(Boolean))) resolve();
          });
      }
    };
    launch();
    if (images.length === 0) resolve();
  });
  if (failure !== undefined) throw failure;
  return images.map((image) => results.find((result) => result.image === image)!);
}

/**
 * The earlier images that register a layer of image `index`: for each of its layers (and for the image itself, when
 * it is listed twice), the first image before it that has it.
 */
function registrarsOf(images: readonly ImageToLoad[], index: number): number[] {
  const image = images[index]!;
  const first = (has: (earlier: ImageToLoad) => boolean) => images.slice(0, index).findIndex(has);
  const registrars = [
    first((earlier) => earlier.config.digest === image.config.digest),
    ...image.layers.map((layer) => first((earlier) => earlier.layers.some((other) => other.digest === layer.digest))),
  ];
  return [...new Set(registrars.filter((registrar) => registrar >= 0))];
}

/** The bytes a load of the image sends: each of its blobs once. */
function bytesOf(image: ImageToLoad): number {
  const sizes = new Map([image.manifest, image.config, ...image.layers].map((blob) => [blob.digest, blob.size]));
  return [...sizes.values()].reduce((sum, size) => sum + size, 0);
}

/**
 * The progress of work on several images, some at once (a load, a content check): `bytes` events for all of them
 * together, with the images done and the names of those under way, and an `item` event as each one is done.
 */
export class ImagesProgress {
  private readonly sent: number[];
  private readonly active = new Set<number>();
  private done = 0;
  /** The bytes of all the images, less those of images that needed none (Docker had them). */
  totalBytes: number;

  constructor(private readonly label: string, private readonly images: readonly { readonly name: string; readonly bytes: number }[], private readonly onProgress: ProgressListener = ignoreProgress) {
    this.sent = images.map(() => 0);
    this.totalBytes = images.reduce((sum, image) => sum + image.bytes, 0);
  }

  start(index: number): void {
    this.active.add(index);
    this.emit();
  }

  /** Image `index` has had `bytes` of its own processed so far. */
  set(index: number, bytes: number): void {
    this.sent[index] = bytes;
    this.emit();
  }

  /** Image `index` is done (`outcome`: loaded, already there, verified), `bytes` of it sent: what was not sent leaves the total. */
  finish(index: number, outcome: string, bytes = this.images[index]!.bytes): void {
    this.totalBytes -= this.images[index]!.bytes - bytes;
    this.sent[index] = bytes;
    this.active.delete(index);
    this.done++;
    this.onProgress({ type: 'item', label: this.label, name: this.images[index]!.name, outcome, bytes, done: this.done, total: this.images.length });
    this.emit();
  }

  private emit(): void {
    this.onProgress({
      type: 'bytes', label: this.label, done: this.sent.reduce((sum, value) => sum + value, 0), total: this.totalBytes,
      images: { done: this.done, total: this.images.length, active: [...this.active].map((index) => this.images[index]!.name) },
    });
  }
}
