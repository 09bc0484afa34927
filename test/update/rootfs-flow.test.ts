import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sampleApps, webPage } from '../../fixtures/apps/index.js';
import { buildFactory, scenarios, type FactoryBuild } from '../../fixtures/factory.js';
import { runTool } from '../../fixtures/oci/tools.js';
import { commitObjectPath } from '../../lib/medium/layout.js';
import { lastJsonDocument } from '../helpers/cli.js';
import { createTestDevice, exists, projectContainers, removeComposeProjects, waitForLog } from '../helpers/device.js';
import { copyMedium, ostreeTestDevice, removeCommitFromMedium, type OstreeTestDevice } from '../helpers/lmp-device.js';
import { removeDevice } from '../rootfs/helpers.js';

// App names of their own: other test files run compose projects on the same dockerd at the same time.
const WEB = 'lmpweb';
const FAILING = 'lmpfail';
const TINY = 'lmptiny';
// LmP hardware: every target of the factory carries an OSTree commit of its rootfs.
const HARDWARE_ID = 'intel-corei7-64';
const hardwareIds = [HARDWARE_ID];
const target = (version: number) => `${HARDWARE_ID}-lmp-${version}`;

function targets() {
  return [
    { hardwareIds, version: 1, apps: [sampleApps.webPair(1, WEB)] },
    { hardwareIds, version: 2, apps: [sampleApps.webPair(2, WEB)] },
    { hardwareIds, version: 3, apps: [sampleApps.webPair(2, WEB), sampleApps.failing(FAILING)] },
    { hardwareIds, version: 4, apps: [sampleApps.webPair(2, WEB), sampleApps.tiny(TINY, 4)] },
    { hardwareIds, version: 5, apps: [] },
  ];
}

async function containerIds(project: string): Promise<string[]> {
  return [...(await projectContainers(project)).values()].map((container) => `${container.id} ${container.state}`).sort();
}

describe('OSTree rootfs updates through the CLI: install, reboot, run', () => {
  let workdir: string;
  let factory: FactoryBuild;
  /** Temporary directories of the devices, removed at the end. */
  const roots: string[] = [];
  let main: OstreeTestDevice;

  const commit = (version: number) => factory.targets.find((t) => t.name === target(version))!.ostreeCommit!;
  const deployed = async ({ sysroot }: OstreeTestDevice) => (await sysroot.rootfs.deployments()).map((deployment) => deployment.commit);
  const medium = (dir = factory.dirs.medium) => ['--src-dir', dir];

  /** A device with a real sysroot that booted the rootfs of target 1, configured as an OSTree device. */
  async function ostreeDevice(): Promise<OstreeTestDevice> {
    const created = await ostreeTestDevice(factory, commit(1));
    roots.push(...created.roots);
    return created;
  }

  /** A copy of the medium whose `ostree_repo` holds, under `version`'s commit name, `replacement`'s commit object or nothing. */
  async function damagedMedium(name: string, version: number, replacement?: number): Promise<string> {
    const copy = await copyMedium(factory.dirs.medium, join(workdir, name));
    await removeCommitFromMedium(copy, commit(version));
    if (replacement !== undefined) await copyFile(join(factory.dirs.ostreeRepo, commitObjectPath(commit(replacement))), join(copy, 'ostree_repo', commitObjectPath(commit(version))));
    return copy;
  }

  before(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'fioup-rootfs-flow-'));
    factory = await buildFactory(join(workdir, 'factory'), scenarios.basic({
      seed: 'rootfs-flow',
      device: { type: 'ci', hardwareId: HARDWARE_ID, tag: 'main' },
      targets: targets(),
    }));
    main = await ostreeDevice();
  });
  after(async () => {
    await removeComposeProjects([WEB, FAILING, TINY]);
    for (const root of roots) await removeDevice(root);
    await removeDevice(workdir);
  });

  test('a target whose commit is the booted one changes apps only (101, then 0)', async () => {
    const install = await main.device.cli(['install', ...medium(), '--target', target(1)]);
    assert.equal(install.code, 101, install.stderr);
    assert.equal((await main.device.state() as { pending?: { rootfs?: unknown } }).pending?.rootfs, undefined);
    assert.deepEqual((await main.device.state() as { pending?: { parts: { kind: string }[] } }).pending?.parts.map((part) => part.kind), ['apps']);
    assert.deepEqual(await deployed(main), [commit(1)]);
    const run = await main.device.cli(['run']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((await main.device.state()).current?.name, target(1));
    assert.equal((await projectContainers(WEB)).get('server')?.state, 'running');
  });

  test('rootfs + apps: install 100, run before the reboot 100 changing nothing, run after it 0 with the new apps up', async () => {
    const containersBefore = await containerIds(WEB);
    const install = await main.device.cli(['install', ...medium(), '--target', target(2)]);
    assert.equal(install.code, 100, install.stderr);
    assert.match(install.stdout, /Reboot the device/);
    assert.deepEqual(await deployed(main), [commit(2), commit(1)]);
    assert.equal(await main.sysroot.rootfs.bootedCommit(), commit(1));
    assert.deepEqual(await containerIds(WEB), containersBefore, 'install starts and stops nothing');

    const early = await main.device.cli(['run']);
    assert.equal(early.code, 100, early.stderr);
    assert.match(early.stdout, /Reboot required/);
    assert.deepEqual(await containerIds(WEB), containersBefore, 'run before the reboot changes nothing');
    const state = await main.device.state();
    assert.equal(state.current?.name, target(1));
    assert.equal(state.pending?.target.name, target(2));
    assert.equal(state.pending?.phase, 'staged');
    assert.deepEqual(await deployed(main), [commit(2), commit(1)]);

    await main.sysroot.bootInto(commit(2));
    const run = await main.device.cli(['run']);
    assert.equal(run.code, 0, run.stderr);
    const web = await projectContainers(WEB);
    assert.ok([...web.values()].every((container) => container.state === 'running'));
    assert.match(await waitForLog(web.get('client')!.id, webPage(WEB, 2)), new RegExp(webPage(WEB, 2)));
    const status = JSON.parse((await main.device.cli(['status', '--json'])).stdout);
    assert.equal(status.current.name, target(2));
    assert.equal(status.pending, null, 'nothing pending: the key is there, null');
    assert.deepEqual(status.apps.map((app: { name: string; state: string }) => `${app.name} ${app.state}`), [`${WEB} running`]);
  });

  test('new apps failing on the new rootfs: run 100 with the previous commit deployed again, then 0 on the previous target', async () => {
    const install = await main.device.cli(['install', ...medium(), '--target', target(3)]);
    assert.equal(install.code, 100, install.stderr);
    await main.sysroot.bootInto(commit(3));
    const run = await main.device.cli(['run']);
    assert.equal(run.code, 100, run.stderr);
    assert.match(run.stdout + run.stderr, /boom/, 'the failing service log tail is shown');
    assert.equal((await deployed(main))[0], commit(2), 'the previous commit boots next');
    assert.equal(await main.sysroot.rootfs.bootedCommit(), commit(3));
    assert.equal((await projectContainers(FAILING)).size, 0);
    assert.deepEqual(await readdir(main.device.composeRoot), [WEB]);
    const rolledBack = await main.device.state();
    assert.equal(rolledBack.pending?.target.name, target(2));
    assert.deepEqual(rolledBack.failedTargets, [target(3)]);

    await main.sysroot.bootInto(commit(2));
    const finish = await main.device.cli(['run']);
    assert.equal(finish.code, 0, finish.stderr);
    const state = await main.device.state();
    assert.equal(state.current?.name, target(2));
    assert.equal(state.pending, undefined);
    assert.deepEqual(state.failedTargets, [target(3)]);
    const web = await projectContainers(WEB);
    assert.ok([...web.values()].every((container) => container.state === 'running'));
    assert.match(await waitForLog(web.get('client')!.id, webPage(WEB, 2)), new RegExp(webPage(WEB, 2)));
    assert.equal((await main.device.cli(['install', ...medium(), '--target', target(3)])).code, 102);
  });

  test('--target naming a target whose commit the medium lacks (20, as aklite-offline), or with another commit under its name (70, by check --verify-content too): nothing deployed, nothing pending', async () => {
    const deploymentsBefore = await deployed(main);
    const stateBefore = await main.device.state();

    const missing = await main.device.cli(['install', ...medium(await damagedMedium('medium-missing', 4)), '--target', target(4)]);
    assert.equal(missing.code, 20, missing.stderr);
    assert.match(missing.stderr, new RegExp(`rootfs commit ${commit(4)}`));

    // check --verify-content hashes the commit object on the medium as install does once it has pulled it.
    const forgedMedium = await damagedMedium('medium-forged', 4, 1);
    const sound = await main.device.cli(['check', ...medium(), '--target', target(4), '--verify-content', '--json']);
    assert.equal(sound.code, 16, sound.stderr);
    const { plan, content } = lastJsonDocument(sound.stdout);
    assert.ok(plan.parts.some((part: { kind: string; commit?: string }) => part.kind === 'rootfs' && part.commit === commit(4)), JSON.stringify(plan));
    assert.ok(content.blobs > 0 && content.bytes > 0, JSON.stringify(content));
    const dryRun = await main.device.cli(['check', ...medium(forgedMedium), '--target', target(4), '--verify-content']);
    assert.equal(dryRun.code, 70, dryRun.stderr);
    assert.match(dryRun.stdout, new RegExp(`rootfs commit ${commit(4)}: its commit object on .* hashes to ${commit(1)}`));

    const forged = await main.device.cli(['install', ...medium(forgedMedium), '--target', target(4)]);
    assert.equal(forged.code, 70, forged.stderr);
    assert.match(forged.stderr, new RegExp(commit(4)));

    assert.deepEqual(await deployed(main), deploymentsBefore);
    assert.deepEqual(await main.device.state(), stateBefore);
    assert.equal(await exists(join(main.sysroot.rootfs.repo, commitObjectPath(commit(4)))), false, 'the forged object is not kept');
    assert.equal((await projectContainers(TINY)).size, 0);
  });

  test('bootloader fallback: run 99 with the previous apps running, the target refused afterwards without --force', async () => {
    const containersBefore = await containerIds(WEB);
    const install = await main.device.cli(['install', ...medium(), '--target', target(4)]);
    assert.equal(install.code, 100, install.stderr);
    assert.deepEqual((await deployed(main)).slice(0, 2), [commit(4), commit(2)]);
    // What a fallback leaves: the new deployment is gone and the device booted the previous commit again.
    await runTool('ostree', ['admin', 'undeploy', `--sysroot=${main.sysroot.config.sysroot}`, '0']);
    await main.sysroot.bootInto(commit(2));

    const run = await main.device.cli(['run']);
    assert.equal(run.code, 99, run.stderr);
    assert.match(run.stdout + run.stderr, /bootloader fell back/);
    assert.deepEqual(await containerIds(WEB), containersBefore, 'the previous apps keep running');
    assert.equal((await projectContainers(TINY)).size, 0);
    const state = await main.device.state();
    assert.equal(state.current?.name, target(2));
    assert.equal(state.pending, undefined);
    assert.deepEqual(state.failedTargets.sort(), [target(3), target(4)]);
    assert.deepEqual(await readdir(main.device.composeRoot), [WEB]);

    const again = await main.device.cli(['install', ...medium(), '--target', target(4)]);
    assert.equal(again.code, 102, again.stderr);
    assert.deepEqual(await deployed(main), [commit(2)]);
  });

  test('killed before load, before commit and before deploy, install again each time: converges on one new deployment (100)', async () => {
    const crashing = await ostreeDevice();
    const install = (crashAt?: string) => crashing.device.cli(['install', ...medium(), '--target', target(2)],
      crashAt ? { FIOUP_OFFLINE_CRASH_AT: `install:${crashAt}` } : undefined);

    for (const step of ['load', 'commit']) {
      const killed = await install(step);
      assert.equal(killed.code, -1, `killed before ${step}: ${killed.stderr}`);
      assert.deepEqual(await deployed(crashing), [commit(1)], `nothing deployed when killed before ${step}`);
      assert.equal(await exists(join(crashing.sysroot.rootfs.repo, commitObjectPath(commit(2)))), true, 'the commit was pulled');
      assert.equal((await crashing.device.state()).pending, undefined);
    }
    // The pending installation is recorded before the deploy: a new rootfs never becomes the next boot unrecorded.
    const killed = await install('deploy-rootfs');
    assert.equal(killed.code, -1, killed.stderr);
    assert.deepEqual(await deployed(crashing), [commit(1)]);
    assert.equal((await crashing.device.state()).pending?.target.name, target(2));

    const converged = await install();
    assert.equal(converged.code, 100, converged.stderr);
    assert.deepEqual(await deployed(crashing), [commit(2), commit(1)], 'exactly one new deployment');
    assert.equal((await crashing.device.state()).pending?.target.name, target(2));
    assert.equal((await projectContainers(WEB)).get('server')?.state, 'running', 'no other device\'s apps were touched');
  });

  test('a rootfs-only target: install 100, run 100 before the reboot, 0 after it', async () => {
    const rootfsOnly = await ostreeDevice();
    const install = await rootfsOnly.device.cli(['install', ...medium(), '--target', target(5)]);
    assert.equal(install.code, 100, install.stderr);
    assert.deepEqual(await deployed(rootfsOnly), [commit(5), commit(1)]);
    assert.equal((await rootfsOnly.device.cli(['run'])).code, 100);
    await rootfsOnly.sysroot.bootInto(commit(5));
    const run = await rootfsOnly.device.cli(['run']);
    assert.equal(run.code, 0, run.stderr);
    const state = await rootfsOnly.device.state();
    assert.equal(state.current?.name, target(5));
    assert.equal(state.pending, undefined);
    assert.deepEqual(await readdir(rootfsOnly.device.composeRoot).catch(() => []), []);
  });

  test('a device that is not an OSTree device ignores the target\'s sha256 and installs apps only (101)', async () => {
    const device = await createTestDevice(factory);
    roots.push(device.root);
    const cmdline = join(device.root, 'cmdline');
    await writeFile(cmdline, 'console=ttyS0 root=/dev/sda2 rw\n');
    await mkdir(join(device.root, 'no-sysroot'));
    // `auto` and a kernel command line without ostree=; a sysroot that any ostree call would fail on.
    await device.configure('60-ostree.toml', [
      '[offline]', 'ostree = "auto"', `kernel_cmdline = "${cmdline}"`,
      '[pacman]', `sysroot = "${join(device.root, 'no-sysroot')}"`, '',
    ].join('\n'));
    const install = await device.cli(['install', ...medium(), '--target', target(2)]);
    assert.equal(install.code, 101, install.stderr);
    const state = await device.state() as { pending?: { target: { name: string }; rootfs?: unknown } };
    assert.equal(state.pending?.target.name, target(2));
    assert.equal(state.pending?.rootfs, undefined);
    assert.deepEqual((state.pending as { parts?: { kind: string }[] } | undefined)?.parts?.map((part) => part.kind), ['apps']);
    assert.deepEqual(await readdir(join(device.root, 'no-sysroot')), []);
  });
});
