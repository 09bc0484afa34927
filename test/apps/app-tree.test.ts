import assert from 'node:assert/strict';
import { readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { applyContentVariant } from '../../fixtures/apps/index.js';
import { AppStore } from '../../lib/apps/app-store.js';
import { appBlobs, buildAppTree } from '../../lib/apps/app-tree.js';
import { platformOfArch } from '../../lib/apps/platform.js';
import { ContentMissingError, ContentVerificationError, PlatformNotOfferedError, UnsafePathError } from '../../lib/errors.js';
import { exitCodeForError } from '../../lib/exit-codes.js';
import { appBlobPath } from '../../lib/medium/layout.js';
import { parseAppUri } from '../../lib/targets/app-uri.js';
import { copyStore, removeStore, writeWebStore, type StoreFixture } from './helpers.js';

const amd64 = platformOfArch('x64');

describe('buildAppTree', () => {
  let store: StoreFixture;
  const copies: StoreFixture[] = [];
  const damagedCopy = async () => {
    const copy = await copyStore(store);
    copies.push(copy);
    return copy;
  };
  before(async () => {
    store = await writeWebStore();
  });
  after(async () => {
    await Promise.all([store, ...copies].map(removeStore));
  });

  test('follows the chain of a good store to the platform manifests, configs and layers', async () => {
    const tree = await buildAppTree(store.blobs, store.uri, amd64);
    assert.equal(tree.manifest.digest, store.app.manifestDigest);
    assert.equal(tree.archive.blob.digest, store.app.archiveDigest);
    assert.equal(tree.archiveIndex?.digest, store.app.archiveIndexDigest);
    assert.equal(tree.layersMeta?.descriptor.digest, store.app.layersMetaDigest);
    assert.deepEqual(tree.services.map((service) => [service.name, service.image.reference]), Object.entries(store.app.services));
    assert.equal(tree.images.length, store.app.images.length);
    for (const [position, image] of tree.images.entries()) {
      const written = store.app.images[position]!;
      assert.equal(image.reference.reference, written.ref);
      assert.equal(image.index?.digest, written.indexDigest);
      assert.equal(image.manifest.digest, written.platforms.amd64!.manifestDigest);
      assert.equal(image.config.digest, written.platforms.amd64!.configDigest);
      assert.deepEqual(image.layers.map((layer) => layer.digest), written.platforms.amd64!.layerDigests);
      for (const layer of image.layers) {
        assert.equal(layer.size, (await stat(join(store.root, appBlobPath(layer.digest)))).size);
        assert.equal(tree.layersMeta?.layers.get(layer.digest)?.size, layer.size);
      }
    }
    assert.match(tree.images[0]!.layers[1]!.what, /^layer 2 of image hub\.foundries\.io\/acme\/web-server of app web$/);
  });

  test('picks the manifest of the platform it is given', async () => {
    const tree = await buildAppTree(store.blobs, store.uri, platformOfArch('arm64'));
    assert.deepEqual(tree.images.map((image) => image.manifest.digest), store.app.images.map((image) => image.platforms.arm64!.manifestDigest));
  });

  test('a platform the index does not list is missing content (exit 8), the platform named', async () => {
    await assert.rejects(buildAppTree(store.blobs, store.uri, platformOfArch('arm')), (error: Error) =>
      error instanceof PlatformNotOfferedError && exitCodeForError(error) === 8 && /lists no manifest for linux\/arm\/v7/.test(error.message));
  });

  test('lists every blob once, the base layer shared by both images included', async () => {
    const blobs = appBlobs(await buildAppTree(store.blobs, store.uri, amd64));
    const digests = blobs.map((blob) => blob.descriptor.digest);
    assert.equal(new Set(digests).size, digests.length);
    const baseLayer = store.app.images[0]!.platforms.amd64!.layerDigests[0]!;
    assert.equal(store.app.images[1]!.platforms.amd64!.layerDigests[0], baseLayer);
    assert.ok(digests.includes(baseLayer));
  });

  test("a medium's app store walks each tree once: the install asking after the selection reads nothing more", async () => {
    const copy = await damagedCopy();
    const appStore = AppStore.of(copy.medium);
    assert.equal(AppStore.of(copy.medium), appStore);
    const reads: string[] = [];
    for (const method of ['stat', 'readFile', 'open'] as const) {
      const original = copy.medium[method].bind(copy.medium) as (...args: unknown[]) => unknown;
      Object.assign(copy.medium, { [method]: (...args: unknown[]) => (reads.push(String(args[0])), original(...args)) });
    }
    const first = await appStore.readTree(copy.uri, amd64);
    const walked = reads.length;
    assert.ok(walked > 0);
    assert.equal(await appStore.readTree(copy.uri, amd64), first);
    assert.equal(reads.length, walked);
  });

  test('an app absent from the medium is content missing (exit 8)', async () => {
    const absent = parseAppUri(`hub.foundries.io/acme/other@sha256:${'1'.repeat(64)}`, 'test');
    await assert.rejects(AppStore.of(store.medium).readTree(absent, amd64), (error: Error) =>
      error instanceof ContentMissingError && exitCodeForError(error) === 8 && error.message.includes('other'));
  });

  test('a manifest whose digest does not match its URI is refused (exit 70)', async () => {
    const copy = await damagedCopy();
    const path = join(copy.root, appBlobPath(copy.app.manifestDigest));
    await writeFile(path, `${await readFile(path, 'utf8')} `);
    await assert.rejects(buildAppTree(copy.blobs, copy.uri, amd64), (error: Error) =>
      error instanceof ContentVerificationError && exitCodeForError(error) === 70 &&
      error.message.includes('manifest of app web') && error.message.includes(copy.app.manifestDigest));
  });

  test('a missing app manifest blob, with the app directory present, is a verification failure', async () => {
    const copy = await damagedCopy();
    await unlink(join(copy.root, appBlobPath(copy.app.manifestDigest)));
    await assert.rejects(buildAppTree(copy.blobs, copy.uri, amd64), (error: Error) =>
      error instanceof ContentVerificationError && /manifest of app web .*missing/.test(error.message));
  });

  test('a corrupted bundle (same size) is refused, the bundle named', async () => {
    const copy = await damagedCopy();
    const path = join(copy.root, appBlobPath(copy.app.archiveDigest));
    const bytes = await readFile(path);
    bytes[bytes.length - 3]! ^= 0xff;
    await writeFile(path, bytes);
    await assert.rejects(buildAppTree(copy.blobs, copy.uri, amd64), (error: Error) =>
      error instanceof ContentVerificationError && error.message.startsWith('bundle of app web'));
  });

  test('a bundle with a ../ path is refused while reading the chain, the entry named (exit 11)', async () => {
    const copy = await damagedCopy();
    const damage = await applyContentVariant(join(copy.root, 'apps'), copy.app, 'archive-path-traversal');
    const uri = parseAppUri(damage.app!.uri, 'test');
    await assert.rejects(buildAppTree(copy.blobs, uri, amd64), (error: Error) =>
      error instanceof UnsafePathError && exitCodeForError(error) === 11 && error.message.includes('../../evil'));
  });

  test('a bundle with a symlink is refused while reading the chain, the entry named', async () => {
    const copy = await damagedCopy();
    const damage = await applyContentVariant(join(copy.root, 'apps'), copy.app, 'archive-symlink-out');
    const uri = parseAppUri(damage.app!.uri, 'test');
    await assert.rejects(buildAppTree(copy.blobs, uri, amd64), (error: Error) =>
      error instanceof UnsafePathError && /entry "link" of bundle of app web is a symbolic link/.test(error.message));
  });
});
