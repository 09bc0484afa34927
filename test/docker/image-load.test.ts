import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BlobStore } from '../../fixtures/oci/blob-store.js';
import { writeImage, type ImageSpec } from '../../fixtures/oci/image.js';
import { DockerEngine } from '../../lib/docker/engine.js';
import { loadImage, type ImageToLoad } from '../../lib/docker/image-load.js';
import { loadImages } from '../helpers/images.js';
import { ContentVerificationError, ImageLoadError, InsufficientSpaceError } from '../../lib/errors.js';
import { watermarkGuard } from '../../lib/update/free-space.js';
import { mountSmallFilesystem } from '../helpers/small-filesystem.js';
import type { ProgressEvent } from '../../lib/progress.js';
import { imageToLoad, verifiedOpener } from './oci-images.js';

const run = promisify(execFile);
const engine = new DockerEngine();

describe('loadImage streams a docker-save + OCI tar to dockerd', () => {
  let dir: string;
  let store: BlobStore;
  const pinnedRefs: Record<string, string> = {};

  /** Each test gets an image of its own (distinct config), so that their order does not matter. */
  async function fixtureImage(spec: ImageSpec): Promise<ImageToLoad> {
    const written = await writeImage(store, spec, { seed: 'docker-image-load' });
    pinnedRefs[spec.name] = `hub.foundries.io/acme/${spec.name}@${written.pinned.digest}`;
    return imageToLoad(store, pinnedRefs[spec.name]!);
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fioup-image-load-'));
    store = new BlobStore(join(dir, 'blobs'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('loads an image whose id is its config digest, under its local tag, and it runs', async () => {
    const image = await fixtureImage({ name: 'hello', files: [{ path: 'greeting', content: 'hello from the medium\n' }], cmd: ['cat', '/greeting'] });
    const events: ProgressEvent[] = [];
    const result = await loadImage(engine, image, verifiedOpener(store), { onProgress: (event) => events.push(event) });

    assert.equal(result.loaded, true);
    const total = [image.manifest, image.config, ...image.layers].reduce((sum, blob) => sum + blob.size, 0);
    assert.equal(result.sentBytes, total);
    assert.deepEqual(events.at(-1), { type: 'bytes', label: image.tag.reference, done: total, total });
    const { stdout: id } = await run('docker', ['image', 'inspect', '--format', '{{.Id}}', image.tag.reference]);
    assert.equal(id.trim(), image.config.digest);
    const { stdout } = await run('docker', ['run', '--rm', '--network', 'none', image.tag.reference]);
    assert.equal(stdout, 'hello from the medium\n');
  });

  test('an image Docker already has is only tagged: nothing is sent', async () => {
    const image = await fixtureImage({ name: 'present', files: [{ path: 'present', content: 'yes' }] });
    await loadImage(engine, image, verifiedOpener(store));
    // Untagging an image's last tag deletes the image: keep it alive under another tag.
    await engine.tag(image.config.digest, 'fioup-test/keep', 'present');
    await engine.removeImage(image.tag.reference);
    assert.equal(await engine.imageIdOf(image.tag.reference), undefined);

    const events: ProgressEvent[] = [];
    const opened: string[] = [];
    const blobs = verifiedOpener(store);
    const [result] = await loadImages(engine, [image], {
      open: async (blob) => {
        opened.push(blob.digest);
        return blobs.open(blob);
      },
    }, { onProgress: (event) => events.push(event) });

    assert.equal(result!.loaded, false);
    assert.equal(result!.sentBytes, 0);
    assert.deepEqual(events, []);
    assert.deepEqual(opened, []);
    assert.equal(await engine.imageIdOf(image.tag.reference), image.config.digest);
  });

  test('a layer with one byte flipped aborts the load: no image, no tag, no dangling image', async () => {
    const image = await fixtureImage({ name: 'corrupt', files: [{ path: 'data', content: 'x'.repeat(100_000) }] });
    const lastLayer = image.layers.at(-1)!;
    const before = await engine.listImages();

    await assert.rejects(
      loadImage(engine, image, verifiedOpener(store, { digest: lastLayer.digest, offset: Math.floor(lastLayer.size / 2) })),
      ContentVerificationError,
    );

    assert.equal(await engine.hasImage(image.config.digest), false);
    assert.equal(await engine.imageIdOf(image.tag.reference), undefined);
    const afterwards = await engine.listImages();
    assert.deepEqual(afterwards.map((listed) => listed.id).sort(), before.map((listed) => listed.id).sort());
  });

  test('a blob failing verification only at its end aborts the request, though Docker would accept its bytes', async () => {
    const image = await fixtureImage({ name: 'mislabelled', files: [{ path: 'data', content: 'y' }] });
    // The last layer's bytes are intact but filed under a digest they do not hash to: Docker, which checks
    // diff ids and not blob digests, would load them; only aborting the upload keeps the image out.
    const lastLayer = image.layers.at(-1)!;
    const bogusDigest = `sha256:${'0'.repeat(64)}`;
    await copyFile(store.pathOf(lastLayer.digest), store.pathOf(bogusDigest));
    const mislabelled = { ...image, layers: [...image.layers.slice(0, -1), { ...lastLayer, digest: bogusDigest }] };

    await assert.rejects(loadImage(engine, mislabelled, verifiedOpener(store)), ContentVerificationError);
    assert.equal(await engine.hasImage(image.config.digest), false);
    assert.equal(await engine.imageIdOf(image.tag.reference), undefined);
  });

  test('an error Docker reports in its progress stream becomes an ImageLoadError with its message', async () => {
    const image = await fixtureImage({ name: 'misordered', files: [{ path: 'second-layer', content: 'z' }] });
    // Layers in the wrong order: every blob verifies, but their diff ids no longer match the config's.
    const misordered = { ...image, layers: [...image.layers].reverse() };

    await assert.rejects(loadImage(engine, misordered, verifiedOpener(store)), (error: unknown) => {
      assert.ok(error instanceof ImageLoadError, String(error));
      assert.match(error.message, /^Docker refused to load hub\.foundries\.io\/acme\/misordered:sha256-[0-9a-f]{64}: .*diff ?id/i);
      return true;
    });
    assert.equal(await engine.hasImage(image.config.digest), false);
  });

  test('a gzip bomb (96 MiB of zeros in a 100 KiB layer) is stopped while it streams, before Docker extracts it', async () => {
    const small = await mountSmallFilesystem(dir, 'docker-root', '64M');
    try {
      const image = await fixtureImage({ name: 'bomb', files: [{ path: 'zeros', content: Buffer.alloc(96 << 20) }] });
      const bomb = image.layers.at(-1)!;
      assert.ok(bomb.size < 1 << 20, `the layer is ${bomb.size} bytes compressed`);
      // The guard watches a 64 MiB filesystem, as it would watch DockerRootDir: 80% of it is less than the bomb.
      const guard = watermarkGuard(small.mountPoint, 80);
      await assert.rejects(loadImage(engine, image, verifiedOpener(store), { guard }), (error: unknown) => {
        assert.ok(error instanceof InsufficientSpaceError, String(error));
        assert.match(error.message, new RegExp(`^loading ${image.tag.reference.replace(/[.]/g, '\\.')}: its layers expand to at least [\\d.]+ MiB, ` +
          `and only [\\d.]+ MiB may be used on the filesystem of ${small.mountPoint} under the 80% storage watermark .*: the load was stopped before Docker extracted it`));
        return true;
      });
      assert.equal(await engine.hasImage(image.config.digest), false);
      assert.equal(await engine.imageIdOf(image.tag.reference), undefined);

      // The same image loads under a guard with room for it: the guard measures, and stops only what does not fit.
      const roomy = watermarkGuard(tmpdir(), 95);
      const loaded = await loadImage(engine, image, verifiedOpener(store), { guard: roomy });
      assert.equal(loaded.loaded, true);
      assert.equal(await engine.hasImage(image.config.digest), true);
      await engine.removeImage(image.tag.reference);
    } finally {
      small.unmount();
    }
  });

  test("a layer the app's signed layers-meta describes counts at the size given there, not decompressed on the way", async () => {
    const small = await mountSmallFilesystem(dir, 'docker-root-announced', '64M');
    try {
      const image = await fixtureImage({ name: 'announced', files: [{ path: 'zeros', content: Buffer.alloc(96 << 20) }] });
      const layer = image.layers.at(-1)!;
      const guard = watermarkGuard(small.mountPoint, 80);
      // Announced larger than the filesystem allows: refused before the tar ends, whatever the bytes expand to.
      const overstated = { ...image, announcedExpansion: new Map([[layer.digest, 1 << 30]]) };
      await assert.rejects(loadImage(engine, overstated, verifiedOpener(store), { guard }), (error: unknown) =>
        error instanceof InsufficientSpaceError && /its layers expand to (at least )?1\.0 GiB/.test(error.message));
      assert.equal(await engine.hasImage(image.config.digest), false);
      // Announced small: the 96 MiB it really expands to are never measured, and it loads under the same guard.
      const described = { ...image, announcedExpansion: new Map([[layer.digest, 1024]]) };
      assert.equal((await loadImage(engine, described, verifiedOpener(store), { guard })).loaded, true);
      await engine.removeImage(image.tag.reference);
    } finally {
      small.unmount();
    }
  });
});
