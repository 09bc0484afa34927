import assert from 'node:assert/strict';
import { access, mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sampleApps } from '../../fixtures/apps/index.js';
import { buildFactory, scenarios, type FactoryBuild } from '../../fixtures/factory.js';
import { Compose, detectCompose } from '../../lib/docker/compose.js';
import { DockerEngine } from '../../lib/docker/engine.js';
import { createTestDevice, projectContainers, removeComposeProjects, removeTree, type TestDevice } from '../helpers/device.js';

// App names of their own: other test files run compose projects on the same dockerd at the same time.
const APP = 'akst-01';
const FAILING = 'akst-broken';
const LEGACY = 'akst-legacy';
const hardwareIds = ['amd64-linux'];
const target = (version: number) => `amd64-linux-lmp-${version}`;

/**
 * Apps present in compose_apps_root that the target does not run, and that no target of this tool put there (left by
 * aktualizr-lite, or by hand): composeappmanager.cc stops and removes them, and prunes their images.
 */
describe('apps in compose_apps_root that the target does not run', () => {
  let workdir: string;
  let factory: FactoryBuild;
  let device: TestDevice;
  const engine = new DockerEngine();
  /** An image of the stray app's own: a tag no app of the factory uses. */
  const legacyImage = 'hub.foundries.io/acme/akst-legacy:1';

  /** A compose project as aktualizr-lite leaves one: its compose file only, running an image Docker has. */
  async function strayProject(): Promise<string> {
    const dir = join(device.composeRoot, LEGACY);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'docker-compose.yml'), `services:\n  service:\n    image: ${legacyImage}\n    command: ["sh", "-c", "while true; do sleep 3600; done"]\n`);
    const compose = new Compose(await detectCompose(), engine);
    await compose.up({ name: LEGACY, dir });
    return dir;
  }

  before(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'fioup-stray-'));
    factory = await buildFactory(join(workdir, 'factory'), scenarios.basic({
      seed: 'stray-apps',
      targets: [
        { hardwareIds, version: 1, apps: [sampleApps.tiny(APP, 1)] },
        { hardwareIds, version: 2, apps: [sampleApps.tiny(APP, 2)] },
        { hardwareIds, version: 3, apps: [sampleApps.tiny(APP, 2), sampleApps.failing(FAILING)] },
      ],
    }));
    device = await createTestDevice(factory);
    assert.equal((await device.cli(['install', '--src-dir', factory.dirs.medium, '--target', target(1)])).code, 101);
    assert.equal((await device.cli(['run'])).code, 0);
    const [v1Image] = factory.apps.find((app) => app.uri === factory.targets[0]!.apps[0]!.uri)!.images;
    await engine.tag(v1Image!.platforms.amd64!.configDigest, 'hub.foundries.io/acme/akst-legacy', '1');
  });
  after(async () => {
    await removeComposeProjects([APP, FAILING, LEGACY]);
    await engine.removeImage(legacyImage).catch(() => undefined);
    await removeTree(workdir);
    await removeTree(device.root);
  });

  test('an update that fails keeps the stray project: run 99 puts its directory back', async () => {
    await strayProject();
    const install = await device.cli(['install', '--src-dir', factory.dirs.medium, '--target', target(3)]);
    assert.equal(install.code, 101, install.stderr);
    assert.match(install.stderr, new RegExp(`${LEGACY} removed \\(not part of the target\\)`));
    assert.equal((await device.cli(['run'])).code, 99);
    assert.deepEqual((await readdir(device.composeRoot)).sort(), [APP, LEGACY]);
    assert.equal((await projectContainers(LEGACY)).size, 0, 'stopped by the update, not started again: no target runs it');
    assert.ok(await engine.imageIdOf(legacyImage), 'its image is kept');
  });

  test('the next update stops and removes it, its image with it, and runs the target\'s apps', async () => {
    await strayProject();
    assert.equal((await projectContainers(LEGACY)).get('service')?.state, 'running');
    const install = await device.cli(['install', '--src-dir', factory.dirs.medium, '--target', target(2)]);
    assert.equal(install.code, 101, install.stderr);
    assert.equal((await projectContainers(LEGACY)).get('service')?.state, 'running', 'install changes nothing that runs');
    const run = await device.cli(['run']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((await projectContainers(LEGACY)).size, 0);
    assert.deepEqual(await readdir(device.composeRoot), [APP]);
    assert.equal(await engine.imageIdOf(legacyImage), undefined, 'pruned');
    assert.equal((await projectContainers(APP)).get('service')?.state, 'running');
    await assert.rejects(access(join(device.composeRoot, LEGACY)));
    assert.equal((await device.cli(['install', '--src-dir', factory.dirs.medium, '--target', target(2)])).code, 0, 'nothing left to do');
  });
});
