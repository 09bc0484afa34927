import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AppSpec } from '../../fixtures/apps/index.js';
import { buildFactory, scenarios, type FactoryBuild } from '../../fixtures/factory.js';
import { spawnCli, waitForStop } from '../helpers/cli.js';
import { createTestDevice, removeTree, type TestDevice } from '../helpers/device.js';
import { startPrivateEngine, type PrivateEngine } from '../helpers/private-engine.js';

const APP = 'engineapp';
const hardwareIds = ['amd64-linux'];
const target = (version: number) => `amd64-linux-lmp-${version}`;

function engineApp(version: number): AppSpec {
  return {
    name: APP,
    services: [{ name: 'web', image: { name: `${APP}-web`, files: [{ path: 'version', content: `${version}\n` }], cmd: ['sh', '-c', 'while true; do sleep 3600; done'] } }],
  };
}

/**
 * dockerd of its own (startPrivateEngine), killed and restarted by the test: the CLI talks to it through
 * DOCKER_HOST, as compose does.
 */
describe('dockerd dies under install and run', () => {
  let workdir: string;
  let factory: FactoryBuild;
  let device: TestDevice;
  let engine: PrivateEngine;

  before(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'fioup-engine-faults-'));
    factory = await buildFactory(join(workdir, 'factory'), scenarios.basic({
      seed: 'engine-faults',
      targets: [{ hardwareIds, version: 1, apps: [engineApp(1)] }, { hardwareIds, version: 2, apps: [engineApp(2)] }],
    }));
    device = await createTestDevice(factory);
    engine = await startPrivateEngine();
  });
  after(async () => {
    await engine.remove();
    await removeTree(workdir);
    await removeTree(device.root);
  });

  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => device.cli(args, { ...engine.env, ...env });
  const install = (version: number) => ['install', '--src-dir', factory.dirs.medium, '--target', target(version)];
  const appContainerStates = async () => {
    const containers = await engine.docker.listContainers({ filters: { label: [`com.docker.compose.project=${APP}`] } });
    return containers.map((container) => container.State);
  };
  const versionServed = async () => {
    const [container] = await engine.docker.listContainers({ filters: { label: [`com.docker.compose.project=${APP}`] } });
    assert.ok(container, 'a container of the app runs');
    const exec = await engine.docker.getContainer(container.Id).exec({ Cmd: ['cat', '/version'], AttachStdout: true });
    const stream = await exec.start({});
    let output = '';
    for await (const chunk of stream) output += (chunk as Buffer).toString('latin1');
    return output.replace(/[^\d]/g, '');
  };

  /** `run`, stopped just before its start step (the previous apps stopped, the new projects in place), dockerd killed there. */
  const runKillingEngineAtStart = async () => {
    const run = spawnCli(['run', '--config', device.configDir], { env: { ...engine.env, FIOUP_OFFLINE_STOP_AT: 'run:start' } });
    assert.equal(await waitForStop(run.pid), 'T', 'the run stopped before its start step');
    await engine.kill();
    process.kill(run.pid, 'SIGCONT');
    return run.done;
  };

  test('dockerd down when run starts: one line naming the socket and the fix, nothing changed, run works once it answers', async () => {
    assert.equal((await cli(install(1))).code, 101);
    await engine.kill();
    const refused = await cli(['run']);
    assert.equal(refused.code, 1, refused.stderr);
    // Asked first, before anything else: the socket named in the connection error.
    assert.match(refused.stderr, new RegExp(`Docker is not running \\(connect \\w+ ${engine.host.replace(/^unix:\/\//, '').replace(/[.]/g, '\\.')}\\): start it with 'systemctl start docker'`));
    assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
    assert.equal((await device.state()).pending?.phase, 'staged', 'the installation waits as it was');

    await engine.start();
    const run = await cli(['run']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(await versionServed(), '1');
  });

  test('dockerd killed while the new apps start: the rollback stays pending, and the next run completes it once dockerd is back', async () => {
    assert.equal((await cli(install(2))).code, 101);
    const interrupted = await runKillingEngineAtStart();
    assert.equal(interrupted.code, 1, interrupted.stderr);
    assert.match(interrupted.stderr, new RegExp(`${target(2)} failed .*restoring ${target(1)} could not finish: Docker does not answer at .*; ` +
      `the rollback stays pending, and 'fioup-offline run' completes it`));
    const pending = await device.state();
    assert.equal(pending.pending?.phase, 'rolling-back');
    assert.equal(pending.current?.name, target(1));
    assert.deepEqual(pending.failedTargets, [], 'not marked failed before the rollback is done');

    await engine.start();
    const completed = await cli(['run']);
    assert.equal(completed.code, 99, completed.stderr);
    const state = await device.state();
    assert.equal(state.pending, undefined);
    assert.equal(state.current?.name, target(1));
    assert.deepEqual(state.failedTargets, [target(2)]);
    assert.deepEqual(await appContainerStates(), ['running']);
    assert.equal(await versionServed(), '1', 'the previous apps run again');
    const status = await cli(['status', '--json']);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`"name":\\s*"${APP}",[^}]*"state":\\s*"(running|healthy)"`), 'status shows the previous app running');
  });

  test('the same at boot: fioup-offline-finish.service (auto --after-reboot) completes the pending rollback', async () => {
    assert.equal((await cli([...install(2), '--force'])).code, 101);
    const interrupted = await runKillingEngineAtStart();
    assert.equal(interrupted.code, 1, interrupted.stderr);
    assert.equal((await device.state()).pending?.phase, 'rolling-back');

    await engine.start();
    const boot = await cli(['auto', '--after-reboot', '--reboot-command', 'false']);
    assert.equal(boot.code, 99, boot.stderr);
    const state = await device.state();
    assert.equal(state.pending, undefined);
    assert.equal(state.current?.name, target(1));
    assert.deepEqual(await appContainerStates(), ['running']);
    assert.equal(await versionServed(), '1');
  });
});
