import assert from 'node:assert/strict';
import { statfsSync } from 'node:fs';
import { mkdtemp, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BlobStore } from '../../fixtures/oci/blob-store.js';
import { buildFactory, scenarios, type FactoryBuild } from '../../fixtures/factory.js';
import { createTestDevice, removeTree, type TestDevice } from '../helpers/device.js';
import { startPrivateEngine, type PrivateEngine } from '../helpers/private-engine.js';
import { mountSmallFilesystem, type SmallFilesystem } from '../helpers/small-filesystem.js';

const APP = 'bomb';
const BOMB_BYTES = 112 << 20;

/**
 * A signed app whose one layer is a 112 MiB file of one repeated letter (a few hundred KiB gzipped), on a medium without its layers-meta
 * (absent layers-meta is ignored, as composectl ignores it): the space check can only estimate the layer (three
 * times its compressed size) and passes. dockerd of its own keeps its data on a 96 MiB filesystem: the load must
 * stop before Docker extracts the layer, instead of filling that filesystem.
 */
describe('a gzip-bomb layer', () => {
  let workdir: string;
  let factory: FactoryBuild;
  let device: TestDevice;
  let small: SmallFilesystem;
  let engine: PrivateEngine;

  before(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'fioup-gzip-bomb-'));
    factory = await buildFactory(join(workdir, 'factory'), scenarios.basic({
      seed: 'gzip-bomb',
      targets: [{
        hardwareIds: ['amd64-linux'], version: 1,
        apps: [{ name: APP, services: [{ name: 'service', image: { name: APP, files: [{ path: 'zeros', content: 'z'.repeat(BOMB_BYTES) }], cmd: ['true'] } }] }],
      }],
    }));
    const [app] = factory.apps;
    await unlink(new BlobStore(join(factory.dirs.apps, 'blobs')).pathOf(app!.layersMetaDigest));
    device = await createTestDevice(factory);
    small = await mountSmallFilesystem(workdir, 'docker', '96M');
    engine = await startPrivateEngine({ dataRoot: join(small.mountPoint, 'data') });
  });
  after(async () => {
    await engine.remove();
    small.unmount();
    await removeTree(workdir);
    await removeTree(device.root);
  });

  test('passes the space check, and its load is stopped before Docker extracts it: 60, the filesystem not filled', async () => {
    const install = await device.cli(['install', '--src-dir', factory.dirs.medium], engine.env);
    assert.equal(install.code, 60, install.stderr);
    assert.match(install.stderr, new RegExp(`loading \\S+/${APP}:\\S+: its layers expand to at least [\\d.]+ MiB, and only [\\d.]+ MiB may be used ` +
      `on the filesystem of ${engine.dataRoot} under the 80% storage watermark .*: the load was stopped before Docker extracted it`));
    const image = factory.apps[0]!.images[0]!.platforms.amd64!.configDigest;
    assert.equal((await engine.docker.listImages()).some((listed) => listed.Id === image), false, 'Docker has no bomb image');
    const fs = statfsSync(small.mountPoint);
    assert.ok(fs.bavail / fs.blocks > 0.2, `Docker's filesystem keeps ${Math.round((100 * fs.bavail) / fs.blocks)}% free`);
    assert.deepEqual(await device.state(), { failedTargets: [] });
  });
});
