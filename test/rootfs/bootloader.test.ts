import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BootloaderError } from '../../lib/errors.js';
import { Bootloader } from '../../lib/rootfs/bootloader.js';
import { bootloaderEnv, type BootloaderEnv } from '../helpers/bootloader-env.js';

// The variables of libaktualizr's bootloader.cc, set through the real fw_setenv on an environment file.
describe('the bootloader handshake, by rollback_mode', () => {
  let workdir: string;
  let env: BootloaderEnv;
  const savedPath = process.env.PATH;

  before(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'fioup-bootloader-'));
    env = await bootloaderEnv(workdir, { bootcount: '3', upgrade_available: '0', rollback: '1', bootfirmware_version: '100' });
    process.env.PATH = env.path;
  });
  after(async () => {
    process.env.PATH = savedPath;
    await rm(workdir, { recursive: true, force: true });
  });

  async function variables(): Promise<Record<string, string>> {
    const names = ['bootcount', 'upgrade_available', 'rollback', 'bootupgrade_available'];
    return Object.fromEntries(await Promise.all(names.map(async (name) => [name, await env.get(name)])));
  }

  async function reset(): Promise<void> {
    for (const [name, value] of [['bootcount', '3'], ['upgrade_available', '0'], ['rollback', '1'], ['bootupgrade_available', '0']]) await env.set(name!, value!);
  }

  test('none changes nothing; uboot_generic resets bootcount and rollback; uboot_masked and fiovb also arm upgrade_available', async () => {
    const expected = {
      none: { bootcount: '3', upgrade_available: '0', rollback: '1' },
      uboot_generic: { bootcount: '0', upgrade_available: '0', rollback: '0' },
      uboot_masked: { bootcount: '0', upgrade_available: '1', rollback: '0' },
      fiovb: { bootcount: '0', upgrade_available: '1', rollback: '0' },
    } as const;
    for (const [mode, values] of Object.entries(expected)) {
      await reset();
      await new Bootloader(mode as keyof typeof expected).updateNotify();
      assert.deepEqual(await variables(), { ...values, bootupgrade_available: '0' }, `after deploy, ${mode}`);
    }
  });

  test('after a good boot: bootcount 0, and upgrade_available 0 for uboot_masked and fiovb', async () => {
    for (const [mode, upgrade] of [['uboot_generic', '1'], ['uboot_masked', '0'], ['fiovb', '0']] as const) {
      await reset();
      await env.set('upgrade_available', '1');
      await new Bootloader(mode).setBootOk();
      assert.equal(await env.get('bootcount'), '0', mode);
      assert.equal(await env.get('upgrade_available'), upgrade, mode);
    }
  });

  test('a deployed tree with another boot firmware version sets bootupgrade_available; the same version or none does not', async () => {
    const tree = join(workdir, 'deploy');
    await mkdir(join(tree, 'usr/lib/firmware'), { recursive: true });
    const bootloader = new Bootloader('fiovb');
    await reset();
    await bootloader.installNotify(tree);
    assert.equal(await bootloader.bootFirmwareUpdatePending(), false, 'no version file: no boot firmware');
    await writeFile(join(tree, 'usr/lib/firmware/version.txt'), 'bootfirmware_version=100\n');
    await bootloader.installNotify(tree);
    assert.equal(await env.get('bootupgrade_available'), '0', 'the version the bootloader runs');
    await writeFile(join(tree, 'usr/lib/firmware/version.txt'), 'bootfirmware_version=111\n');
    await bootloader.installNotify(tree);
    assert.equal(await bootloader.bootFirmwareUpdatePending(), true);
    assert.equal(await new Bootloader('uboot_generic').bootFirmwareUpdatePending(), false, 'uboot_generic has no boot firmware variables');
  });

  test('a failing command is a BootloaderError naming it', async () => {
    await env.breakSetenv(true);
    try {
      await assert.rejects(new Bootloader('uboot_masked').updateNotify(), (error: unknown) => error instanceof BootloaderError && /fw_setenv bootcount 0 failed: Cannot write the environment/.test((error as Error).message));
    } finally {
      await env.breakSetenv(false);
    }
  });
});
