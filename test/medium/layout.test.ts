import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ContentVerificationError } from '../../lib/errors.js';
import {
  appBlobName, appBlobPath, appUriPath, appVersionDirectory, commitObjectPath, isContentAddressed, isInside, LAYOUT_DIRECTORIES,
  mediumCommitObjectPath, rootFileName, rootFileVersion, rootVersionOfPath, TUF_FILES, tufPath,
} from '../../lib/medium/layout.js';

const hex = '0123456789abcdef'.repeat(4);
const commit = 'ab'.repeat(32);
const app = { name: 'web', manifestHex: hex };

describe("fioctl's medium layout", () => {
  test('the top-level directories and the TUF files', () => {
    assert.deepEqual(LAYOUT_DIRECTORIES, ['tuf', 'apps', 'ostree_repo']);
    assert.deepEqual(Object.values(TUF_FILES).map(tufPath), ['tuf/timestamp.json', 'tuf/snapshot.json', 'tuf/targets.json', 'tuf/bundle-targets.json']);
    assert.equal(tufPath(rootFileName(4)), 'tuf/4.root.json');
  });

  test('root file names and versions read back, and nothing else passes for one', () => {
    assert.equal(rootFileVersion(rootFileName(12)), 12);
    for (const name of ['0.root.json', '01.root.json', 'root.json', '4.root.json.tmp', `${'9'.repeat(10)}.root.json`, 'x.root.json']) {
      assert.equal(rootFileVersion(name), undefined, name);
    }
    assert.equal(rootVersionOfPath('tuf/3.root.json'), 3);
    assert.equal(rootVersionOfPath('tuf/timestamp.json'), undefined);
    assert.equal(rootVersionOfPath('apps/3.root.json'), undefined);
    assert.equal(rootVersionOfPath('tuf/sub/3.root.json'), undefined);
  });

  test('app versions and the blob store', () => {
    assert.equal(appVersionDirectory(app), `apps/apps/web/${hex}`);
    assert.equal(appUriPath(app), `apps/apps/web/${hex}/uri`);
    assert.equal(appBlobPath(`sha256:${hex}`), `apps/blobs/sha256/${hex}`);
    assert.equal(appBlobName(appBlobPath(`sha256:${hex}`)), hex);
    assert.equal(appBlobName('apps/blobs/sha256/not-a-digest'), 'not-a-digest');
    assert.equal(appBlobName(`apps/apps/web/${hex}/manifest.json`), undefined);
    assert.equal(appBlobName(`apps/blobs/sha256`), undefined);
  });

  test('a blob path is only built from a sha256 digest', () => {
    for (const digest of [`sha512:${hex}`, `sha256:${hex.toUpperCase()}`, `sha256:../../${hex.slice(6)}`, hex]) {
      assert.throws(() => appBlobPath(digest), ContentVerificationError, digest);
    }
  });

  test('OSTree commit objects, in any repo and on the medium', () => {
    assert.equal(commitObjectPath(commit), `objects/ab/${'ab'.repeat(31)}.commit`);
    assert.equal(mediumCommitObjectPath(commit), `ostree_repo/objects/ab/${'ab'.repeat(31)}.commit`);
  });

  test('what is named by its hash', () => {
    assert.equal(isContentAddressed(appBlobPath(`sha256:${hex}`)), true);
    assert.equal(isContentAddressed(mediumCommitObjectPath(commit)), true);
    assert.equal(isContentAddressed('tuf/targets.json'), false);
    assert.equal(isContentAddressed(`apps/apps/web/${hex}/uri`), false);
    assert.equal(isContentAddressed('ostree_repo/config'), false);
  });

  test('inside means below, not beside', () => {
    assert.equal(isInside('tuf/targets.json', 'tuf'), true);
    assert.equal(isInside('tufx/targets.json', 'tuf'), false);
    assert.equal(isInside('tuf', 'tuf'), false);
  });
});
