import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BlobStore } from '../../fixtures/oci/blob-store.js';
import { writeImage } from '../../fixtures/oci/image.js';
import { DockerEngine } from '../../lib/docker/engine.js';
import type { ImageBlobs, ImageLoadResult, ImageToLoad } from '../../lib/docker/image-load.js';
import { loadImagesConcurrently } from '../../lib/docker/load-images.js';
import { ContentVerificationError } from '../../lib/errors.js';
import { imageToLoad, verifiedOpener } from './oci-images.js';

const engine = new DockerEngine();

describe('loading several images at once', () => {
  let dir: string;
  let store: BlobStore;

  async function images(prefix: string, names: string[]): Promise<ImageToLoad[]> {
    return Promise.all(names.map(async (name) => {
      const written = await writeImage(store, { name: `${prefix}-${name}`, files: [{ path: name, content: `${prefix} ${name}\n` }] }, { seed: 'load-images' });
      return imageToLoad(store, `hub.foundries.io/acme/${prefix}-${name}@${written.index!.digest}`);
    }));
  }

  /** When each image's first blob was asked for, and when it was reported in. */
  function timeline(list: readonly ImageToLoad[], blobs: ImageBlobs) {
    const started = new Map<ImageToLoad, number>();
    const loaded = new Map<ImageToLoad, number>();
    let clock = 0;
    const recording: ImageBlobs = {
      open: (descriptor) => {
        const image = list.find((candidate) => candidate.manifest.digest === descriptor.digest);
        if (image && !started.has(image)) started.set(image, clock++);
        return blobs.open(descriptor);
      },
    };
    const onLoaded = (result: ImageLoadResult) => loaded.set(result.image, clock++);
    return { recording, onLoaded, started, loaded };
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fioup-load-images-'));
    store = new BlobStore(join(dir, 'blobs'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('images sharing the base layer wait for the first that has it, then load side by side', async () => {
    const list = await images('side', ['first', 'second', 'third', 'fourth']);
    const { recording, onLoaded, started, loaded } = timeline(list, verifiedOpener(store));
    const results = await loadImagesConcurrently(engine, list, recording, { concurrency: 3, onLoaded });

    assert.deepEqual(results.map((result) => result.imageId), list.map((image) => image.config.digest));
    for (const image of list) assert.equal(await engine.hasImage(image.config.digest), true);
    const [first, ...rest] = list;
    for (const image of rest) assert.ok(started.get(image)! > loaded.get(first!)!, 'the base layer is registered by the first load alone');
    const inFlight = (image: ImageToLoad) => rest.filter((other) => started.get(other)! < loaded.get(image)! && started.get(image)! < loaded.get(other)!).length;
    assert.ok(rest.some((image) => inFlight(image) >= 2), 'later images overlap');
  });

  test('one image failing verification stops the others; Docker keeps only what was reported loaded', async () => {
    const list = await images('broken', ['base', 'bad', 'good', 'other']);
    const bad = list[1]!;
    const corrupt = verifiedOpener(store, { digest: bad.layers.at(-1)!.digest, offset: 10 });
    const reported: string[] = [];
    await assert.rejects(
      loadImagesConcurrently(engine, list, corrupt, { concurrency: 3, onLoaded: (result) => reported.push(result.imageId) }),
      ContentVerificationError,
    );
    assert.equal(await engine.hasImage(bad.config.digest), false);
    for (const image of list) {
      if (await engine.hasImage(image.config.digest)) assert.ok(reported.includes(image.config.digest), `${image.tag.reference} is in Docker only if reported`);
    }
    for (const id of reported) await engine.removeImage(id, { force: true });
  });

  test('progress counts the bytes of all the images together', async () => {
    const list = await images('progress', ['one', 'two']);
    const totals = new Set<number>();
    let last = 0;
    await loadImagesConcurrently(engine, list, verifiedOpener(store), {
      concurrency: 2, label: 'two images', onProgress: (event) => {
        if (event.type !== 'bytes') return;
        assert.equal(event.label, 'two images');
        totals.add(event.total);
        last = event.done;
      },
    });
    const expected = list.reduce((sum, image) => sum + [image.manifest, image.config, ...image.layers].reduce((bytes, blob) => bytes + blob.size, 0), 0);
    assert.deepEqual([...totals], [expected]);
    assert.equal(last, expected);
  });
});
