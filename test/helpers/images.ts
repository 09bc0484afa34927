import type { DockerEngine } from '../../lib/docker/engine.js';
import { loadImage, type ImageBlobs, type ImageLoadOptions, type ImageLoadResult, type ImageToLoad } from '../../lib/docker/image-load.js';

/** Loads the images one after the other (each in its own request, so a failure names its image). */
export async function loadImages(
  engine: DockerEngine, images: readonly ImageToLoad[], blobs: ImageBlobs, options: ImageLoadOptions = {},
): Promise<ImageLoadResult[]> {
  const results: ImageLoadResult[] = [];
  for (const image of images) results.push(await loadImage(engine, image, blobs, options));
  return results;
}
