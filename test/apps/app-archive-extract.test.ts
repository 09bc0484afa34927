import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { create } from 'tar';
import { applyContentVariant, type ContentVariant } from '../../fixtures/apps/index.js';
import { buildAppTree } from '../../lib/apps/app-tree.js';
import { MediumBlobSource } from '../../lib/apps/medium-blob-source.js';
import { extractAppArchive } from '../../lib/apps/app-archive-extract.js';
import type { AppArchive } from '../../lib/apps/app-archive-reader.js';
import { platformOfArch } from '../../lib/apps/platform.js';
import { ContentVerificationError, UnsafePathError } from '../../lib/errors.js';
import { DirectoryMedium } from '../../lib/medium/directory-medium.js';
import { appBlobPath } from '../../lib/medium/layout.js';
import { copyStore, listTree, removeStore, writeWebStore, type StoreFixture } from './helpers.js';

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The bundle as the (damaged) store describes it, its index taken as is: extraction must do its own checks. */
async function rawBundle(store: StoreFixture, archiveDigest: string, indexDigest: string): Promise<AppArchive> {
  const index = JSON.parse(await readFile(join(store.root, appBlobPath(indexDigest)), 'utf8')) as Record<string, string>;
  const size = (await stat(join(store.root, appBlobPath(archiveDigest)))).size;
  return { blob: { mediaType: 'application/octet-stream', digest: archiveDigest, size, what: 'bundle of app web' }, index: new Map(Object.entries(index)) };
}

describe('extractAppArchive', () => {
  let store: StoreFixture;
  let work: string;
  const copies: StoreFixture[] = [];
  before(async () => {
    store = await writeWebStore();
    work = await mkdtemp(join(tmpdir(), 'app-archive-extract-'));
  });
  after(async () => {
    await Promise.all([store, ...copies].map(removeStore));
    await rm(work, { recursive: true, force: true });
  });

  test('extracts a good bundle into place, replacing what was there', async () => {
    const tree = await buildAppTree(store.blobs, store.uri, platformOfArch('x64'));
    const destination = join(work, 'good', 'compose-apps', 'web');
    await mkdir(destination, { recursive: true });
    await writeFile(join(destination, 'stale.txt'), 'old version');
    await extractAppArchive(store.blobs, tree.archive, destination);
    assert.deepEqual(await listTree(join(work, 'good')), ['compose-apps', 'compose-apps/web', 'compose-apps/web/docker-compose.yml']);
    const compose = await readFile(join(destination, 'docker-compose.yml'));
    assert.equal(sha256(compose), tree.archive.index!.get('docker-compose.yml'));
    assert.match(compose.toString(), /image: "hub\.foundries\.io\/acme\/web-server@sha256:/);
  });

  test('reads bundles written by another tar writer (pax long names, ./ root, modes)', async () => {
    const source = join(work, 'source');
    const longName = `${'deep/'.repeat(30)}file.txt`;
    await mkdir(join(source, longName, '..'), { recursive: true });
    await writeFile(join(source, 'docker-compose.yml'), 'services: {}\n');
    await writeFile(join(source, 'run.sh'), '#!/bin/sh\n');
    await chmod(join(source, 'run.sh'), 0o755);
    await writeFile(join(source, longName), 'long\n');
    const mediumRoot = join(work, 'other-writer-medium');
    await mkdir(join(mediumRoot, 'apps/blobs/sha256'), { recursive: true });
    const tgz = join(work, 'bundle.tgz');
    await create({ gzip: true, file: tgz, cwd: source, portable: true }, ['.']);
    const bytes = await readFile(tgz);
    const digest = sha256(bytes);
    await writeFile(join(mediumRoot, appBlobPath(digest)), bytes);
    const index = new Map([
      ['docker-compose.yml', sha256(Buffer.from('services: {}\n'))],
      ['run.sh', sha256(Buffer.from('#!/bin/sh\n'))],
      [longName, sha256(Buffer.from('long\n'))],
    ]);
    const destination = join(work, 'other-writer', 'app');
    await extractAppArchive(new MediumBlobSource(new DirectoryMedium(mediumRoot)), { blob: { mediaType: 'x', digest, size: bytes.length, what: 'bundle of app other' }, index }, destination);
    assert.equal(await readFile(join(destination, longName), 'utf8'), 'long\n');
    assert.equal((await stat(join(destination, 'run.sh'))).mode & 0o777, 0o755);
    assert.equal((await stat(join(destination, 'docker-compose.yml'))).mode & 0o777, 0o644);
  });

  test('refuses a file whose content differs from the bundle index, leaving nothing behind', async () => {
    const tree = await buildAppTree(store.blobs, store.uri, platformOfArch('x64'));
    const parent = join(work, 'mismatch');
    await mkdir(parent);
    const index = new Map([['docker-compose.yml', `sha256:${'0'.repeat(64)}`]]);
    await assert.rejects(extractAppArchive(store.blobs, { ...tree.archive, index }, join(parent, 'web')), (error: Error) =>
      error instanceof ContentVerificationError && /entry "docker-compose.yml" of bundle of app web has digest/.test(error.message));
    assert.deepEqual(await listTree(parent), []);
    const missing = new Map([...tree.archive.index!, ['extra.env', `sha256:${'0'.repeat(64)}`]]);
    await assert.rejects(extractAppArchive(store.blobs, { ...tree.archive, index: missing }, join(parent, 'web')), /lacks "extra.env" listed in its index/);
    assert.deepEqual(await listTree(parent), []);
  });

  const unsafe: { variant: ContentVariant; entry: RegExp; escape: string }[] = [
    { variant: 'archive-path-traversal', entry: /bundle of app web entry "\.\.\/\.\.\/evil" climbs out/, escape: 'evil' },
    { variant: 'archive-symlink-out', entry: /entry "link" of bundle of app web is a symbolic link/, escape: 'link' },
  ];
  for (const { variant, entry, escape } of unsafe) {
    test(`refuses the ${variant} variant (exit 11) and writes nothing outside the staging dir`, async () => {
      const copy = await copyStore(store);
      copies.push(copy);
      const damage = await applyContentVariant(join(copy.root, 'apps'), copy.app, variant);
      const bundle = await rawBundle(copy, damage.app!.archiveDigest, damage.app!.archiveIndexDigest!);
      const outer = join(work, variant);
      const parent = join(outer, 'compose-apps', 'root');
      await mkdir(parent, { recursive: true });
      await writeFile(join(parent, 'neighbour.txt'), 'untouched');
      const before = await listTree(outer);
      await assert.rejects(extractAppArchive(copy.blobs, bundle, join(parent, 'web')), (error: Error) =>
        error instanceof UnsafePathError && entry.test(error.message));
      assert.deepEqual(await listTree(outer), before);
      await assert.rejects(stat(join(outer, 'compose-apps', escape)), { code: 'ENOENT' });
      assert.equal(await readFile(join(parent, 'neighbour.txt'), 'utf8'), 'untouched');
    });
  }
});
