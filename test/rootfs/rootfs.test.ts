import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { runTool } from '../../fixtures/oci/tools.js';
import { writeOstreeCommit } from '../../fixtures/ostree/index.js';
import { ContentMissingError, ContentVerificationError } from '../../lib/errors.js';
import { exitCodeForError } from '../../lib/exit-codes.js';
import { DirectoryMedium } from '../../lib/medium/directory-medium.js';
import { TarMedium } from '../../lib/medium/tar-medium.js';
import type { ProgressEvent } from '../../lib/progress.js';
import { bootedDeployment } from '../../lib/rootfs/booted-deployment.js';
import { commitObjectPath } from '../../lib/medium/layout.js';
import { mediumHasCommit } from '../../lib/rootfs/pull.js';
import { Rootfs } from '../../lib/rootfs/rootfs.js';
import { RebootSentinel } from '../../lib/rootfs/reboot-sentinel.js';
import { removeDevice, simulatedDevice, withoutLocalRoot, type SimulatedDevice } from './helpers.js';

describe('OSTree rootfs', () => {
  let scratch: string;
  let medium: DirectoryMedium;
  let mediumRepo: string;
  let previous: string;
  let next: string;
  let devices: SimulatedDevice[] = [];

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'fioup-rootfs-test-'));
    mediumRepo = join(scratch, 'medium', 'ostree_repo');
    previous = await writeOstreeCommit(mediumRepo, { version: '41', seed: 'rootfs-test' });
    next = await writeOstreeCommit(mediumRepo, { version: '42', seed: 'rootfs-test' });
    medium = new DirectoryMedium(join(scratch, 'medium'));
  });
  after(async () => removeDevice(scratch));
  afterEach(async () => {
    await Promise.all(devices.map((device) => removeDevice(device.root)));
    devices = [];
  });

  /** A device that booted `previous`. */
  async function device(): Promise<SimulatedDevice> {
    const created = await simulatedDevice(mediumRepo, previous);
    devices.push(created);
    return created;
  }

  const commits = async (rootfs: Rootfs) => (await rootfs.deployments()).map((deployment) => deployment.commit);

  test('the booted commit comes from the kernel command line, resolved in the sysroot', async () => {
    const { rootfs } = await device();
    assert.equal(await rootfs.isOstreeDevice(), true);
    assert.equal(await rootfs.bootedCommit(), previous);
    assert.deepEqual(await commits(rootfs), [previous]);
    assert.equal(await rootfs.pendingCommit(), undefined);
    assert.equal(await rootfs.commitBootState(previous), 'booted');
  });

  test('a deployment mounted as the running root wins over the command line link (how a real device boots)', async () => {
    const { rootfs, config } = await device();
    await rootfs.stage(medium, next);
    const nextDirectory = join(config.sysroot, 'ostree', 'deploy', 'lmp', 'deploy', `${next}.0`);
    assert.deepEqual(await bootedDeployment(config.sysroot, config.kernelCmdline, nextDirectory), { os: 'lmp', commit: next, serial: 0 });
    assert.deepEqual(await bootedDeployment(config.sysroot, config.kernelCmdline, '/'), { os: 'lmp', commit: previous, serial: 0 });
  });

  test('a device without ostree= on its command line, or configured so, is not an OSTree device', async () => {
    const { config } = await device();
    const plain = join(scratch, 'plain-cmdline');
    await writeFile(plain, 'console=ttyS0 root=/dev/sda2 rw\n');
    const sentinel = new RebootSentinel(join(scratch, 'need_reboot'));
    assert.equal(await new Rootfs({ ...config, kernelCmdline: plain }, sentinel).isOstreeDevice(), false);
    assert.equal(await new Rootfs({ ...config, kernelCmdline: join(scratch, 'no-such-file') }, sentinel).isOstreeDevice(), false);
    assert.equal(await new Rootfs({ ...config, ostree: false }, sentinel).isOstreeDevice(), false);
    assert.equal(await new Rootfs({ ...config, kernelCmdline: plain, ostree: true }, sentinel).isOstreeDevice(), true);
    await assert.rejects(new Rootfs({ ...config, kernelCmdline: plain, ostree: true }, sentinel).bootedCommit(), /has no ostree=/);
  });

  test('mediumHasCommit looks for the commit object in the medium repo', async () => {
    assert.equal(await mediumHasCommit(medium, next), true);
    assert.equal(await mediumHasCommit(medium, 'f'.repeat(64)), false);
    assert.equal(await mediumHasCommit(medium, '../../etc'), false);
  });

  test('stage from a directory medium: pending until the reboot, booted after it, not deployed twice', async () => {
    const { rootfs, bootInto } = await device();
    const events: ProgressEvent[] = [];
    assert.equal(await rootfs.stage(medium, next, (event) => events.push(event)), 'deployed');
    assert.deepEqual(events.map((event) => event.type === 'step' && `${event.step} ${event.state}`),
      ['pull rootfs start', 'pull rootfs done', 'deploy rootfs start', 'deploy rootfs done']);
    assert.deepEqual(await commits(rootfs), [next, previous]);
    assert.equal(await rootfs.bootedCommit(), previous);
    assert.equal(await rootfs.pendingCommit(), next);
    assert.equal(await rootfs.commitBootState(next), 'pending');

    await bootInto(next);
    assert.equal(await rootfs.bootedCommit(), next);
    assert.equal(await rootfs.pendingCommit(), undefined);
    assert.equal(await rootfs.commitBootState(next), 'booted');
    assert.equal(await rootfs.stage(medium, next), 'already-deployed');
    assert.deepEqual(await commits(rootfs), [next, previous]);
  });

  test('stage from an archive medium goes through a loopback HTTP server and leaves no remote behind', async () => {
    const { rootfs } = await device();
    const archive = join(scratch, 'medium.tar');
    await runTool('tar', ['--format=pax', '-C', join(scratch, 'medium'), '-cf', archive, 'ostree_repo']);
    const tarMedium = await TarMedium.open(archive);
    try {
      assert.equal(tarMedium.localRoot, undefined);
      assert.equal(await rootfs.stage(tarMedium, next), 'deployed');
    } finally {
      await tarMedium.close();
    }
    assert.deepEqual(await commits(rootfs), [next, previous]);
    assert.equal(await rootfs.pendingCommit(), next);
    assert.equal((await runTool('ostree', [`--repo=${rootfs.repo}`, 'remote', 'list'])).trim(), '');
    await runTool('ostree', [`--repo=${rootfs.repo}`, 'fsck']);
  });

  test('a medium without the commit: ContentMissingError (exit 8), nothing deployed', async () => {
    const { rootfs } = await device();
    const missing = 'e'.repeat(64);
    await assert.rejects(rootfs.stage(medium, missing), (error) => error instanceof ContentMissingError && exitCodeForError(error) === 8);
    assert.deepEqual(await commits(rootfs), [previous]);
  });

  test('a commit object whose content is another commit: ContentVerificationError (exit 70) by either path, nothing deployed', async () => {
    const { rootfs } = await device();
    const forgedRoot = join(scratch, 'forged');
    await runTool('cp', ['-a', join(scratch, 'medium'), forgedRoot]);
    const forged = 'a'.repeat(64);
    await mkdir(join(forgedRoot, 'ostree_repo', 'objects', 'aa'), { recursive: true });
    await copyFile(join(mediumRepo, commitObjectPath(next)), join(forgedRoot, 'ostree_repo', commitObjectPath(forged)));
    const forgedMedium = new DirectoryMedium(forgedRoot);
    assert.equal(await mediumHasCommit(forgedMedium, forged), true);

    for (const candidate of [forgedMedium, withoutLocalRoot(forgedMedium)]) {
      await assert.rejects(rootfs.stage(candidate, forged),
        (error) => error instanceof ContentVerificationError && exitCodeForError(error) === 70 && error.message.includes(forged));
      assert.deepEqual(await commits(rootfs), [previous]);
      assert.deepEqual(await readdir(join(rootfs.repo, 'objects', 'aa')).catch(() => []), []);
    }
    assert.equal((await runTool('ostree', [`--repo=${rootfs.repo}`, 'remote', 'list'])).trim(), '');
  });

  test('rollback: deploy the previous commit again after booting the new one', async () => {
    const { rootfs, bootInto } = await device();
    await rootfs.stage(medium, next);
    await bootInto(next);
    assert.equal(await rootfs.deploy(previous), 'deployed');
    assert.equal(await rootfs.pendingCommit(), previous);
    assert.equal(await rootfs.deploy(previous), 'already-deployed');
    await bootInto(previous);
    assert.equal(await rootfs.bootedCommit(), previous);
    assert.equal(await rootfs.commitBootState(previous), 'booted');
    assert.equal((await commits(rootfs)).filter((commit) => commit === previous).length, 1);
  });

  test('bootloader fallback: after a reboot the staged commit is neither booted nor pending', async () => {
    const { rootfs, bootInto } = await device();
    await rootfs.stage(medium, next);
    assert.equal(await rootfs.commitBootState(next), 'pending', 'before the reboot');
    // The bootloader gave up on the new deployment and booted the old one, leaving the deployment list as it was.
    await bootInto(previous);
    assert.deepEqual(await commits(rootfs), [next, previous]);
    assert.equal(await rootfs.bootedCommit(), previous);
    assert.equal(await rootfs.commitBootState(next), 'not-booted');
  });

  test('killed between pull and deploy, then staged again: converges on one deployment', async () => {
    const { rootfs } = await device();
    await rootfs.pull(medium, next);
    assert.deepEqual(await commits(rootfs), [previous]);
    assert.equal(await rootfs.stage(medium, next), 'deployed');
    assert.equal(await rootfs.stage(medium, next), 'already-deployed');
    assert.deepEqual(await commits(rootfs), [next, previous]);
  });
});
