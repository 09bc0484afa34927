import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { packAppArchive } from '../../fixtures/apps/app-archive.js';
import { keepDownloadedPlatforms, writeAppStore, type AppSpec, type ImageSpec, type WrittenApp } from '../../fixtures/apps/index.js';
import { parseTar } from '../../fixtures/oci/tar.js';
import { AppStore } from '../../lib/apps/app-store.js';
import { appBlobs, buildAppTree } from '../../lib/apps/app-tree.js';
import { MediumBlobSource } from '../../lib/apps/medium-blob-source.js';
import { platformOfArch } from '../../lib/apps/platform.js';
import { ContentVerificationError, PlatformNotOfferedError } from '../../lib/errors.js';
import { exitCodeForError, ExitCode } from '../../lib/exit-codes.js';
import { DirectoryMedium } from '../../lib/medium/directory-medium.js';
import { appBlobPath } from '../../lib/medium/layout.js';
import { parseAppUri } from '../../lib/targets/app-uri.js';
import { FACTORY, listTree } from './helpers.js';

const amd64 = platformOfArch('x64');

/** A valid gzip tar as long as `archive` whose compose file pins other bytes: one hex digit of its config hash changed. */
async function sameSizeForgery(archive: Buffer): Promise<Buffer> {
  const entries = parseTar(gunzipSync(archive));
  const compose = entries.find((entry) => entry.path === 'docker-compose.yml') as { content: Uint8Array };
  const text = Buffer.from(compose.content).toString();
  const hash = /config-hash: "([0-9a-f]{64})"/.exec(text)!;
  for (let position = 0; position < 64; position++) {
    const digit = hash[1]![position] === '0' ? '1' : '0';
    const changed = text.replace(hash[1]!, hash[1]!.slice(0, position) + digit + hash[1]!.slice(position + 1));
    const forged = (await packAppArchive(entries.map((entry) => (entry === compose ? { ...compose, type: 'file' as const, path: 'docker-compose.yml', content: Buffer.from(changed) } : entry)))).tgz;
    if (forged.length === archive.length) return forged;
  }
  throw new Error('no same-size forgery found');
}
const arm64 = platformOfArch('arm64');

const image = (name: string, extra: Partial<ImageSpec> = {}): ImageSpec => ({ name, files: [{ path: 'etc/shape', content: `${name}\n` }], cmd: ['true'], ...extra });
const app = (name: string, extra: Partial<AppSpec> = {}, imageExtra: Partial<ImageSpec> = {}): AppSpec => ({ name, services: [{ name: 'service', image: image(name, imageExtra) }], ...extra });

/** The shapes real downloads hold, one app each, in one app store. */
const SPECS: AppSpec[] = [
  app('legacy', { manifestShape: 'legacy' }),
  app('noindex', { manifestShape: 'no-archive-index' }),
  app('dockerlist', {}, { format: { manifests: 'docker' } }),
  app('dockersingle', {}, { format: { manifests: 'docker', compression: 'none', singlePlatform: true } }),
  app('zstd', {}, { format: { compression: 'zstd' } }),
  app('plain', {}, { format: { compression: 'none' } }),
  app('armonly', {}, { platforms: ['arm64'] }),
  app('armsingle', {}, { platforms: ['arm64'], format: { singlePlatform: true } }),
];

describe('app trees of the shapes real downloads hold', () => {
  let root: string;
  let medium: DirectoryMedium;
  let written: Map<string, WrittenApp>;
  const tree = (name: string, platform = amd64) => buildAppTree(new MediumBlobSource(medium), parseAppUri(written.get(name)!.uri, name), platform);

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'apps-shapes-'));
    written = new Map((await writeAppStore(join(root, 'apps'), SPECS, { factory: FACTORY, seed: 'shapes' })).map((entry) => [entry.name, entry]));
    medium = new DirectoryMedium(root);
  });
  after(async () => rm(root, { recursive: true, force: true }));

  test('a manifest published before composeapp 71fdb75: no artifactType, a config without size or blob, no archive index', async () => {
    const legacy = written.get('legacy')!;
    const bytes = await readFile(join(root, appBlobPath(legacy.manifestDigest)), 'utf8');
    const manifest = JSON.parse(bytes) as { artifactType?: string; config: Record<string, unknown>; layers: { annotations?: object }[] };
    assert.equal(manifest.artifactType, undefined);
    assert.deepEqual(Object.keys(manifest.config), ['mediaType', 'digest'], 'Go omits a zero size');
    assert.equal(manifest.layers[0]!.annotations, undefined);
    assert.match(bytes, /^\{\n {3}"schemaVersion": 2,/, 'indented by Go, three spaces');
    assert.ok(!(await listTree(join(root, 'apps/blobs'))).includes(`sha256/${(manifest.config.digest as string).slice(7)}`), 'the config blob is not in the download');

    const built = await tree('legacy');
    assert.equal(built.archiveIndex, undefined);
    assert.equal(built.archive.index, undefined);
    assert.deepEqual({ size: built.manifestConfig.size, mediaType: built.manifestConfig.mediaType }, { size: 0, mediaType: 'application/vnd.oci.image.config.v1+json' });
    assert.deepEqual(built.services.map((service) => service.image.reference), [legacy.services.service]);
    assert.equal(built.layersMeta?.descriptor.digest, legacy.layersMetaDigest);
  });

  test('without an index, the archive is checked by its digest: another valid archive of the same size is refused (70)', async () => {
    const legacy = written.get('legacy')!;
    const path = join(root, appBlobPath(legacy.archiveDigest));
    const original = await readFile(path);
    const forged = await sameSizeForgery(original);
    await writeFile(path, forged);
    try {
      await assert.rejects(tree('legacy'), (error: Error) => error instanceof ContentVerificationError && exitCodeForError(error) === ExitCode.contentVerification &&
        error.message.startsWith(`bundle of app legacy (blob ${legacy.archiveDigest}): content has digest`));
    } finally {
      await writeFile(path, original);
    }
  });

  test('composeapp 71fdb75 to 5bb0f02: artifactType and empty config, no index', async () => {
    const built = await tree('noindex');
    assert.equal(built.archiveIndex, undefined);
    assert.equal(built.manifestConfig.mediaType, 'application/vnd.oci.empty.v1+json');
    assert.equal(built.images[0]!.manifest.digest, written.get('noindex')!.images[0]!.platforms.amd64!.manifestDigest);
  });

  test('Docker v2 schema 2 manifest lists and single manifests, plain and zstd layers: the chain and its media types', async () => {
    const list = (await tree('dockerlist')).images[0]!;
    assert.equal(list.index?.mediaType, 'application/vnd.docker.distribution.manifest.list.v2+json');
    assert.equal(list.manifest.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.ok(list.layers.every((layer) => layer.mediaType === 'application/vnd.docker.image.rootfs.diff.tar.gzip'));
    const single = (await tree('dockersingle')).images[0]!;
    assert.equal(single.index, undefined);
    assert.equal(single.manifest.digest, written.get('dockersingle')!.images[0]!.pinnedDigest);
    assert.ok(single.layers.every((layer) => layer.mediaType === 'application/vnd.docker.image.rootfs.diff.tar'));
    assert.ok((await tree('zstd')).images[0]!.layers.every((layer) => layer.mediaType === 'application/vnd.oci.image.layer.v1.tar+zstd'));
    assert.ok((await tree('plain')).images[0]!.layers.every((layer) => layer.mediaType === 'application/vnd.oci.image.layer.v1.tar'));
  });

  test('an image that does not ship the platform: missing content (8) naming it, whether indexed or single', async () => {
    await assert.rejects(tree('armonly'), (error: Error) => error instanceof PlatformNotOfferedError && exitCodeForError(error) === ExitCode.contentMissing &&
      /index of image hub\.foundries\.io\/acme\/armonly of app armonly: lists no manifest for linux\/amd64/.test(error.message));
    await assert.rejects(tree('armsingle'), (error: Error) => error instanceof PlatformNotOfferedError &&
      /is a single-platform image for linux\/arm64\/v8, not linux\/amd64/.test(error.message));
    assert.equal((await tree('armsingle', arm64)).images[0]!.index, undefined);
  });
});

describe('a multi-platform image of which the CI copied one platform', () => {
  let root: string;
  let store: AppStore;
  let web: WrittenApp;
  const uri = () => parseAppUri(web.uri, 'web');

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'apps-partial-'));
    [web] = await writeAppStore(join(root, 'apps'), [app('web')], { factory: FACTORY, seed: 'partial' });
    await keepDownloadedPlatforms(join(root, 'apps'), [web!], ['amd64']);
    store = AppStore.of(new DirectoryMedium(root));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  test('the platform downloaded installs; the index still lists the other, whose manifest is absent: missing content (8), not damage', async () => {
    const tree = await store.readTree(uri(), amd64);
    assert.equal(tree.images[0]!.index?.digest, web.images[0]!.indexDigest);
    assert.ok(appBlobs(tree).length > 0);
    await assert.rejects(store.readTree(uri(), arm64), (error: Error) => error instanceof PlatformNotOfferedError && exitCodeForError(error) === ExitCode.contentMissing &&
      error.message.includes(`lists a linux/arm64/v8 manifest (${web.images[0]!.platforms.arm64!.manifestDigest}), but the medium does not hold it`));
    assert.equal(await store.offersPlatform(uri(), amd64), true);
    assert.equal(await store.offersPlatform(uri(), arm64), false);
  });

  test('damage stays damage (70): a present manifest that is wrong, a missing layers-meta is tolerated as composectl does', async () => {
    const manifest = join(root, appBlobPath(web.images[0]!.platforms.amd64!.manifestDigest));
    const original = await readFile(manifest);
    await writeFile(manifest, Buffer.concat([original.subarray(0, original.length - 1), Buffer.from(' ')]));
    // A medium changed on disk is read again as a new medium: a medium's app store walks each tree once.
    const reread = () => AppStore.of(new DirectoryMedium(root));
    try {
      await assert.rejects(reread().readTree(uri(), amd64), (error: Error) => !(error instanceof PlatformNotOfferedError) && error instanceof ContentVerificationError && exitCodeForError(error) === 70);
      assert.equal(await reread().offersPlatform(uri(), amd64), true, 'damage is the install\'s to report');
    } finally {
      await writeFile(manifest, original);
    }
    const layersMeta = join(root, appBlobPath(web.layersMetaDigest));
    const meta = await readFile(layersMeta);
    await unlink(layersMeta);
    try {
      assert.equal((await reread().readTree(uri(), amd64)).layersMeta, undefined);
    } finally {
      await writeFile(layersMeta, meta);
    }
  });
});
