import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { applyContentVariant, type ContentVariant } from '../../fixtures/apps/index.js';
import { appBlobs, buildAppTree } from '../../lib/apps/app-tree.js';
import { blobPath } from '../../lib/apps/blob-reader.js';
import { platformOfArch } from '../../lib/apps/platform.js';
import { verifyApp } from '../../lib/apps/verify-app.js';
import { ContentVerificationError } from '../../lib/errors.js';
import { exitCodeForError } from '../../lib/exit-codes.js';
import type { ProgressEvent } from '../../lib/progress.js';
import { copyStore, removeStore, writeWebStore, type StoreFixture } from './helpers.js';

const amd64 = platformOfArch('x64');

describe('verifyApp', () => {
  let store: StoreFixture;
  const copies: StoreFixture[] = [];
  before(async () => {
    store = await writeWebStore();
  });
  after(async () => {
    await Promise.all([store, ...copies].map(removeStore));
  });

  test('reads every blob of a good store once and reports their sizes', async () => {
    const tree = await buildAppTree(store.medium, store.uri, amd64);
    const events: ProgressEvent[] = [];
    const verified = await verifyApp(store.medium, tree, { onProgress: (event) => events.push(event) });
    let onDisk = 0;
    for (const blob of verified.blobs) {
      const size = (await stat(join(store.root, blobPath(blob.descriptor.digest)))).size;
      assert.equal(blob.descriptor.size, size, blob.descriptor.what);
      onDisk += size;
    }
    assert.equal(verified.totalBytes, onDisk);
    assert.deepEqual(events.at(-1), { type: 'bytes', label: 'verifying app web', done: onDisk, total: onDisk });
  });

  test('leaves the kinds it is told to skip to the caller', async () => {
    const tree = await buildAppTree(store.medium, store.uri, amd64);
    const verified = await verifyApp(store.medium, tree, { skip: new Set(['layer', 'config'] as const) });
    assert.deepEqual(verified.blobs.map((blob) => blob.kind).filter((kind) => kind === 'layer' || kind === 'config'), []);
    assert.equal(verified.blobs.length, appBlobs(tree).filter((blob) => blob.kind !== 'layer' && blob.kind !== 'config').length);
  });

  const refusals: { variant: ContentVariant; pattern: (store: StoreFixture) => RegExp }[] = [
    { variant: 'missing-blob', pattern: (s) => new RegExp(`layer 2 of image hub\\.foundries\\.io/acme/web-server of app web \\(blob ${lastLayer(s)}\\): missing`) },
    { variant: 'corrupted-blob', pattern: (s) => new RegExp(`layer 2 of image hub\\.foundries\\.io/acme/web-server of app web \\(blob ${lastLayer(s)}\\): content has digest`) },
    { variant: 'wrong-size', pattern: (s) => new RegExp(`config of image hub\\.foundries\\.io/acme/web-server of app web \\(blob ${s.app.images[0]!.platforms.amd64!.configDigest}\\): \\d+ bytes on the medium, \\d+ expected`) },
  ];
  for (const { variant, pattern } of refusals) {
    test(`refuses the ${variant} variant with exit 70, naming the blob`, async () => {
      const copy = await copyStore(store);
      copies.push(copy);
      const tree = await buildAppTree(copy.medium, copy.uri, amd64);
      await applyContentVariant(join(copy.root, 'apps'), copy.app, variant);
      await assert.rejects(verifyApp(copy.medium, tree), (error: Error) => {
        assert.ok(error instanceof ContentVerificationError, String(error));
        assert.equal(exitCodeForError(error), 70);
        assert.match(error.message, pattern(copy));
        return true;
      });
    });
  }
});

function lastLayer(store: StoreFixture): string {
  return store.app.images[0]!.platforms.amd64!.layerDigests.at(-1)!;
}
