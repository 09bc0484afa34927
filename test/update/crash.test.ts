import assert from 'node:assert/strict';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sampleApps } from '../../fixtures/apps/index.js';
import { buildFactory, scenarios, type FactoryBuild } from '../../fixtures/factory.js';
import { appsHandler } from '../../lib/update/handlers/index.js';
import { installStepNames, runStepNames } from '../../lib/update/steps.js';
import { createTestDevice, projectContainers, removeComposeProjects, removeTree, type TestDevice } from '../helpers/device.js';

const KIOSK = 'kiosk';
const SENSOR = 'sensor';
const hardwareIds = ['amd64-linux'];
// A container-only device has no rootfs steps: test/update/rootfs-flow.test.ts kills an OSTree install there.
const installSteps = installStepNames([appsHandler]);
const runSteps = runStepNames([appsHandler]);
const KILLED = -1;

describe('killed at any step, the same command converges', () => {
  let workdir: string;
  let factory: FactoryBuild;
  let device: TestDevice;

  before(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'fioup-crash-'));
    factory = await buildFactory(join(workdir, 'factory'), scenarios.basic({
      seed: 'crash',
      targets: [
        { hardwareIds, version: 1, apps: [sampleApps.webPair(1, KIOSK), sampleApps.tiny(SENSOR, 1)] },
        { hardwareIds, version: 2, apps: [sampleApps.webPair(2, KIOSK), sampleApps.tiny(SENSOR, 2)] },
      ],
    }));
    device = await createTestDevice(factory);
  });
  after(async () => {
    await removeComposeProjects([KIOSK, SENSOR]);
    await removeTree(workdir);
    await removeTree(device.root);
  });

  const crashAt = (step: string) => ({ FIOUP_OFFLINE_CRASH_AT: step });

  test('install and run, each killed at every step in turn and run again', async () => {
    for (let index = 0; index < installSteps.length; index++) {
      const version = index % 2 === 0 ? 2 : 1;
      const name = `amd64-linux-lmp-${version}`;
      const args = ['install', '--src-dir', factory.dirs.medium, '--target', name, '--force'];

      const killedInstall = await device.cli(args, crashAt(`install:${installSteps[index]}`));
      assert.equal(killedInstall.code, KILLED, `install killed before ${installSteps[index]}: ${killedInstall.stderr}`);
      const install = await device.cli(args);
      assert.equal(install.code, 101, `install after a kill before ${installSteps[index]}: ${install.stderr}`);

      const runStep = runSteps[index % runSteps.length]!;
      const killedRun = await device.cli(['run'], crashAt(`run:${runStep}`));
      assert.equal(killedRun.code, KILLED, `run killed before ${runStep}: ${killedRun.stderr}`);
      const run = await device.cli(['run']);
      assert.equal(run.code, 0, `run after a kill before ${runStep}: ${run.stderr}`);

      const state = await device.state();
      assert.equal(state.current?.name, name);
      assert.equal(state.pending, undefined);
      const expected = factory.targets.find((target) => target.name === name)!;
      for (const app of expected.apps) {
        const written = factory.apps.find((candidate) => candidate.uri === app.uri)!;
        const running = [...(await projectContainers(app.name)).values()];
        assert.ok(running.length > 0 && running.every((container) => container.state === 'running'), `${app.name} runs after ${runStep}`);
        assert.deepEqual(running.map((container) => container.imageId).sort(), written.images.map((image) => image.platforms.amd64!.configDigest).sort());
      }
      assert.deepEqual((await readdir(device.root)).sort(), ['compose-apps', 'conf.d', 'roots', 'var-sota'], 'nothing half-installed is left beside the apps');
    }
  });
});
