import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { availableParallelism, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { writeLmpConfig } from '../../fixtures/device/lmp-config.js';
import { loadDeviceConfig } from '../../lib/config/device-config.js';
import { ConfigError } from '../../lib/errors.js';

async function configDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fioup-config-'));
  for (const [name, content] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), content);
  }
  return dir;
}

const base = '[provision]\nprimary_ecu_hardware_id = "x"\n';

/** The config of one snippet beside `base`. */
async function withSnippet(snippet: string) {
  const dir = await configDir({ 'conf.d/10-base.toml': base, 'conf.d/50-snippet.toml': snippet });
  return loadDeviceConfig([join(dir, 'conf.d')]);
}

describe('device config, read as aktualizr-lite reads it', () => {
  test('files are keyed by name across sources: a later source\'s file replaces an earlier one, then all apply in name order', async () => {
    const dir = await configDir({
      'usr-lib/10-base.toml': '[provision]\nprimary_ecu_hardware_id = "amd64-linux"\n[pacman]\ntags = "main"\nstorage_watermark = "60"\n',
      'usr-lib/50-apps.toml': '[pacman]\ncompose_apps = "web"\nstorage_watermark = "70"\n',
      'sota.toml': '[storage]\npath = "/tmp/state"\n[pacman]\ntags = "devel"\n',
      'etc/50-apps.toml': '[pacman]\ncompose_apps = "web, health"\n',
      'etc/notes.txt': 'not a config file',
    });
    const config = await loadDeviceConfig([join(dir, 'usr-lib'), join(dir, 'sota.toml'), join(dir, 'etc'), join(dir, 'missing.d')]);
    assert.deepEqual(config.files.map((file) => file.slice(dir.length + 1)), ['usr-lib/10-base.toml', 'etc/50-apps.toml', 'sota.toml']);
    assert.equal(config.hardwareId, 'amd64-linux');
    assert.deepEqual(config.enabledApps, { kind: 'listed', names: ['web', 'health'] });
    assert.equal(config.storageWatermark, 60, "usr-lib/50-apps.toml was replaced as a whole: its watermark does not apply");
    assert.deepEqual(config.tags, ['devel'], 'sota.toml comes after 50-apps.toml in name order and overrides 10-base.toml');
    assert.equal(config.storagePath, '/tmp/state');
  });

  test('real LmP snippets: unquoted values, fiovb and pkcs11 snippets, a registered sota.toml, fioctl\'s z-50-fioctl.toml', async () => {
    const root = await mkdtemp(join(tmpdir(), 'fioup-lmp-'));
    const lmp = await writeLmpConfig(root, { hardwareId: 'imx8mm-lpddr4-evk', tags: 'main', fioctlApps: 'app-01,app-02', fioctlTag: 'devel' });
    const config = await loadDeviceConfig(lmp.sources, { explicit: true });
    assert.deepEqual(config.files.map((file) => file.slice(root.length)), [
      '/usr/lib/sota/conf.d/30-rollback.toml', '/usr/lib/sota/conf.d/46-pkcs11-label.toml', '/usr/lib/sota/conf.d/90-handle-callback.toml',
      '/var/sota/sota.toml', '/etc/sota/conf.d/z-50-fioctl.toml',
    ]);
    assert.equal(config.hardwareId, 'imx8mm-lpddr4-evk');
    assert.deepEqual(config.tags, ['devel'], "fioctl's file is named to come after sota.toml");
    assert.deepEqual(config.enabledApps, { kind: 'listed', names: ['app-01', 'app-02'] });
    assert.equal(config.packageManager, 'ostree+compose_apps');
    assert.equal(config.storagePath, '/var/sota/');
    assert.equal(config.deviceType, undefined, 'the certificate is in the HSM: the type is not known from files');
    assert.equal(config.callbackProgram, undefined);
    assert.deepEqual(config.warnings, ['[pacman] callback_program /usr/bin/callback-handler does not exist: no callback will run']);
  });

  test('quotes are stripped wherever they are; lists split on commas and spaces', async () => {
    const config = await withSnippet('[pacman]\ntags = "devel" "main",beta\ncompose_apps = web  health\n[storage]\npath = "/var/"sota\n');
    assert.deepEqual(config.tags, ['devel', 'main', 'beta']);
    assert.deepEqual(config.enabledApps, { kind: 'listed', names: ['web', 'health'] });
    assert.equal(config.storagePath, '/var/sota');
  });

  test('compose_apps: unset means all, empty or blank means none', async () => {
    assert.deepEqual((await withSnippet('')).enabledApps, { kind: 'all' });
    assert.deepEqual((await withSnippet('[pacman]\ncompose_apps = ""\n')).enabledApps, { kind: 'none' });
    assert.deepEqual((await withSnippet('[pacman]\ncompose_apps = " "\n')).enabledApps, { kind: 'none' });
  });

  test('[pacman] type: ostree leaves apps alone; unset means apps too when dockerd is on PATH', async () => {
    assert.equal((await withSnippet('[pacman]\ntype = "ostree"\n')).packageManager, 'ostree');
    assert.equal((await withSnippet('[pacman]\ntype = ostree+compose_apps\n')).packageManager, 'ostree+compose_apps');
    await assert.rejects(withSnippet('[pacman]\ntype = "docker"\n'), /\[pacman\] type must be 'ostree' or 'ostree\+compose_apps', not 'docker' \(.*50-snippet\.toml, line 2\)/);
    const bin = await mkdtemp(join(tmpdir(), 'fioup-path-'));
    const path = process.env.PATH;
    try {
      process.env.PATH = bin;
      assert.equal((await withSnippet('')).packageManager, 'ostree', 'no Docker engine on this device');
      await writeFile(join(bin, 'dockerd'), '#!/bin/sh\n');
      await chmod(join(bin, 'dockerd'), 0o755);
      assert.equal((await withSnippet('')).packageManager, 'ostree+compose_apps');
    } finally {
      process.env.PATH = path;
    }
  });

  test('storage_watermark: 80 unless set; read as std::stoi reads it; 20 to 95', async () => {
    assert.equal((await withSnippet('')).storageWatermark, 80);
    assert.equal((await withSnippet('[pacman]\nstorage_watermark = "60"\n')).storageWatermark, 60);
    assert.equal((await withSnippet('[pacman]\nstorage_watermark = 90%\n')).storageWatermark, 90);
    for (const value of ['5', '96', 'many', '']) {
      await assert.rejects(withSnippet(`[pacman]\nstorage_watermark = "${value}"\n`), /storage_watermark must be an integer from 20 to 95/);
    }
  });

  test('uptane_metadata_path names the initial roots, resolved against /; [offline] roots_dir is its alias', async () => {
    assert.equal((await withSnippet('')).rootsDir, '/usr/lib/sota/tuf');
    assert.equal((await withSnippet('[storage]\nuptane_metadata_path = "metadata"\n')).rootsDir, '/usr/lib/sota/tuf', "libaktualizr's own default");
    assert.equal((await withSnippet('[storage]\nuptane_metadata_path = "/opt/tuf"\n')).rootsDir, '/opt/tuf');
    assert.equal((await withSnippet('[storage]\nuptane_metadata_path = "opt/tuf"\n')).rootsDir, '/opt/tuf');
    assert.equal((await withSnippet('[offline]\nroots_dir = "/opt/tuf"\n')).rootsDir, '/opt/tuf');
    assert.equal((await withSnippet('[offline]\nroots_dir = "/opt/tuf"\n[storage]\nuptane_metadata_path = "/opt/tuf"\n')).rootsDir, '/opt/tuf');
    await assert.rejects(withSnippet('[offline]\nroots_dir = "/a"\n[storage]\nuptane_metadata_path = "/b"\n'), /disagree/);
  });

  test('device type: [offline] device_type, else the certificate\'s businessCategory, else unknown', async () => {
    const dir = await configDir({});
    const certificate = (subject: string, name: string) => execFileSync('openssl', ['req', '-x509', '-newkey', 'ed25519', '-nodes',
      '-keyout', join(dir, 'pkey.pem'), '-out', join(dir, name), '-subj', subject, '-days', '1'], { stdio: 'ignore' });
    certificate('/CN=device-1/OU=acme/businessCategory=production', 'prod.pem');
    certificate('/CN=device-2/OU=acme', 'ci.pem');
    const typeOf = (snippet: string) => withSnippet(snippet).then((config) => config.deviceType);
    assert.equal(await typeOf(`[import]\nbase_path = "${dir}"\ntls_clientcert_path = "prod.pem"\n`), 'prod');
    assert.equal(await typeOf(`[import]\ntls_clientcert_path = "${join(dir, 'ci.pem')}"\n`), 'ci');
    assert.equal(await typeOf(`[import]\ntls_clientcert_path = "${join(dir, 'prod.pem')}"\n[offline]\ndevice_type = "ci"\n`), 'ci');
    assert.equal(await typeOf('[import]\ntls_clientcert_path = "client.pem"\n'), undefined, 'no certificate in /var/sota/import');
    assert.equal(await typeOf(''), undefined);
    await assert.rejects(typeOf('[offline]\ndevice_type = "dev"\n'), /device_type must be 'ci' or 'prod', not 'dev'/);
  });

  test('aktualizr-lite\'s defaults and this tool\'s [offline] keys', async () => {
    const defaults = await loadDeviceConfig([join(await configDir({ 'x.toml': '' }), 'x.toml')]);
    assert.equal(defaults.hardwareId, hostname(), 'no hardware id configured: the host name, as liteclient.cc has it');
    assert.equal(defaults.composeAppsRoot, '/var/sota/compose-apps');
    assert.equal(defaults.storagePath, '/var/sota');
    assert.deepEqual(defaults.rootfs, { sysroot: '/sysroot', os: 'lmp', ostree: 'auto', kernelCmdline: '/proc/cmdline' });
    assert.deepEqual(defaults.bootloader, { rollbackMode: 'none', rebootSentinel: '/var/run/aktualizr-session/need_reboot', blockWhileBootFirmwarePending: true });
    assert.equal(defaults.startTimeoutSeconds, 120);
    assert.equal(defaults.pruneImages, true);
    assert.equal(defaults.akliteLockPath, '/var/lock/aklite.lock');
    assert.equal(defaults.appsInstalledExitCode, 101);
    assert.equal(defaults.parallelLoads, Math.min(4, availableParallelism() + 1), 'one load more than there are cores, at most 4');
    const set = await withSnippet([
      '[pacman]', 'sysroot = "/tmp/s"', 'os = "other"', 'docker_prune = "0"',
      '[offline]', 'ostree = false', 'kernel_cmdline = "/tmp/cmdline"', 'runtime_dir = "/tmp/run"', 'start_timeout = "30"',
      'aklite_lock = "/tmp/aklite.lock"', 'apps_installed_exit_code = 10', 'parallel_loads = 1', '',
    ].join('\n'));
    assert.deepEqual(set.rootfs, { sysroot: '/tmp/s', os: 'other', ostree: false, kernelCmdline: '/tmp/cmdline' });
    assert.equal(set.bootloader.rebootSentinel, '/tmp/run/need_reboot', '[offline] runtime_dir, the earlier key, names the sentinel directory');
    assert.equal(set.startTimeoutSeconds, 30);
    assert.equal(set.pruneImages, false);
    assert.equal(set.akliteLockPath, '/tmp/aklite.lock');
    assert.equal(set.appsInstalledExitCode, 10);
    assert.equal(set.parallelLoads, 1);
    assert.equal((await withSnippet('[pacman]\ndocker_prune = FALSE\n')).pruneImages, false);
    assert.equal((await withSnippet('[pacman]\ndocker_prune = "1"\n')).pruneImages, true);
    assert.equal((await withSnippet('[offline]\nostree = "true"\n')).rootfs.ostree, true);
    await assert.rejects(withSnippet('[offline]\nostree = "maybe"\n'), /\[offline\] ostree must be true or false, not 'maybe'/);
    await assert.rejects(withSnippet('[offline]\napps_installed_exit_code = 0\n'), /apps_installed_exit_code must be 101 or 10/);
    await assert.rejects(withSnippet('[offline]\nstart_timeout = soon\n'), /start_timeout must be a positive whole number/);
  });

  test('[bootloader]: rollback_mode by name (anything else is none), the reboot sentinel, and [pacman] ostree_update_block as aktualizr-lite reads them', async () => {
    const bootloader = async (snippet: string) => (await withSnippet(snippet)).bootloader;
    for (const mode of ['uboot_generic', 'uboot_masked', 'fiovb'] as const) assert.equal((await bootloader(`[bootloader]\nrollback_mode = "${mode}"\n`)).rollbackMode, mode);
    assert.equal((await bootloader('[bootloader]\nrollback_mode = "grub"\n')).rollbackMode, 'none', 'bootloader_config.cc: an unknown mode is none');
    assert.equal((await bootloader('[bootloader]\nreboot_sentinel_dir = "/run/s"\nreboot_sentinel_name = "flag"\n')).rebootSentinel, '/run/s/flag');
    const both = await withSnippet('[bootloader]\nreboot_sentinel_dir = "/run/s"\n[offline]\nruntime_dir = "/run/old"\n');
    assert.equal(both.bootloader.rebootSentinel, '/run/s/need_reboot', '[bootloader] wins over [offline] runtime_dir');
    assert.match(both.warnings.join('\n'), /\[offline\] runtime_dir \(\/run\/old\) is ignored/);
    assert.equal((await bootloader('[pacman]\nostree_update_block = "0"\n')).blockWhileBootFirmwarePending, false);
    assert.equal((await bootloader('[pacman]\nostree_update_block = false\n')).blockWhileBootFirmwarePending, false);
    assert.equal((await bootloader('[pacman]\nostree_update_block = FALSE\n')).blockWhileBootFirmwarePending, true, 'rootfstreemanager.cc compares exactly');
  });

  test('a callback program that exists is run; one that does not is a warning, as liteclient.cc logs it', async () => {
    const dir = await configDir({ 'callback.sh': '#!/bin/sh\n' });
    assert.equal((await withSnippet(`[pacman]\ncallback_program = ${join(dir, 'callback.sh')}\n`)).callbackProgram, join(dir, 'callback.sh'));
    assert.deepEqual((await withSnippet(`[pacman]\ncallback_program = ${join(dir, 'gone.sh')}\n`)).warnings, [`[pacman] callback_program ${join(dir, 'gone.sh')} does not exist: no callback will run`]);
  });

  test('paths named with --config must exist; aktualizr-lite\'s default ones may not', async () => {
    const dir = await configDir({ 'a.toml': base });
    await assert.rejects(loadDeviceConfig([join(dir, 'a.toml'), join(dir, 'missing.d')], { explicit: true }), (error: Error) =>
      error instanceof ConfigError && error.message === `config path ${join(dir, 'missing.d')} does not exist`);
    assert.equal((await loadDeviceConfig([join(dir, 'a.toml'), join(dir, 'missing.d')])).hardwareId, 'x');
  });

  test('a file aktualizr-lite cannot read is refused with its name and line', async () => {
    const dir = await configDir({ 'broken.toml': '[provision\nprimary_ecu_hardware_id = "x"\n' });
    await assert.rejects(loadDeviceConfig([dir]), (error: Error) => error instanceof ConfigError && /broken\.toml, line 1: unmatched '\['/.test(error.message));
  });
});
