import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { applyContentVariant, type ContentVariant } from '../../fixtures/apps/index.js';
import { appBlobs, buildAppTree, type AppTree } from '../../lib/apps/app-tree.js';
import { appBlobPath } from '../../lib/medium/layout.js';
import { platformOfArch } from '../../lib/apps/platform.js';
import { ContentVerificationError } from '../../lib/errors.js';
import { exitCodeForError } from '../../lib/exit-codes.js';
import type { BlobSource } from '../../lib/oci/blob-source.js';
import { verifyBlob } from '../helpers/blobs.js';
import { copyStore, removeStore, writeWebStore, type StoreFixture } from './helpers.js';

const amd64 = platformOfArch('x64');

describe('the blobs of an app chain, streamed through the verifier', () => {
  let store: StoreFixture;
  const copies: StoreFixture[] = [];
  before(async () => {
    store = await writeWebStore();
  });
  after(async () => {
    await Promise.all([store, ...copies].map(removeStore));
  });

  test('a good store: every blob of the chain streams through the verifier, each once, at its size', async () => {
    const tree = await buildAppTree(store.blobs, store.uri, amd64);
    const blobs = appBlobs(tree);
    assert.equal(new Set(blobs.map((blob) => blob.descriptor.digest)).size, blobs.length);
    for (const blob of blobs) {
      const size = (await stat(join(store.root, appBlobPath(blob.descriptor.digest)))).size;
      assert.equal(await verifyBlob(store.blobs, blob.descriptor), size, blob.descriptor.what);
    }
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
      const tree = await buildAppTree(copy.blobs, copy.uri, amd64);
      await applyContentVariant(join(copy.root, 'apps'), copy.app, variant);
      await assert.rejects(verifyAll(copy.blobs, tree), (error: Error) => {
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

/** What the image loader does blob by blob while it streams an app into Docker. */
async function verifyAll(blobs: BlobSource, tree: AppTree): Promise<void> {
  for (const blob of appBlobs(tree)) await verifyBlob(blobs, blob.descriptor);
}
