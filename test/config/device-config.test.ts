import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
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

describe('device config', () => {
  test('merges snippets in name order, later keys overriding earlier ones', async () => {
    const dir = await configDir({
      'conf.d/10-base.toml': '[provision]\nprimary_ecu_hardware_id = "amd64-linux"\n[pacman]\ntags = "main"\nstorage_watermark = "80"\n',
      'conf.d/50-override.toml': '[pacman]\ntags = "main, beta"\ncompose_apps = "web,health"\n',
      'sota.toml': '[storage]\npath = "/tmp/state"\n',
    });
    const config = await loadDeviceConfig([join(dir, 'conf.d'), join(dir, 'sota.toml'), join(dir, 'missing.d')]);
    assert.equal(config.hardwareId, 'amd64-linux');
    assert.deepEqual(config.tags, ['main', 'beta']);
    assert.equal(config.storageWatermark, 80);
    assert.deepEqual(config.enabledApps, { kind: 'listed', names: ['web', 'health'] });
    assert.equal(config.storagePath, '/tmp/state');
    assert.equal(config.composeAppsRoot, '/var/sota/compose-apps');
    assert.equal(config.deviceType, 'ci');
    assert.deepEqual(config.files.map((file) => file.slice(dir.length + 1)), ['conf.d/10-base.toml', 'conf.d/50-override.toml', 'sota.toml']);
  });

  test('compose_apps: unset means all, a single space means none', async () => {
    const base = '[provision]\nprimary_ecu_hardware_id = "x"\n';
    assert.deepEqual((await loadDeviceConfig([join(await configDir({ 'a.toml': base }), 'a.toml')])).enabledApps, { kind: 'all' });
    const none = await configDir({ 'a.toml': `${base}[pacman]\ncompose_apps = " "\n` });
    assert.deepEqual((await loadDeviceConfig([join(none, 'a.toml')])).enabledApps, { kind: 'none' });
  });

  test('device type comes from [offline] device_type, else from the certificate businessCategory', async () => {
    const dir = await configDir({});
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ed25519', '-nodes', '-keyout', join(dir, 'pkey.pem'), '-out', join(dir, 'client.pem'),
      '-subj', '/CN=device-1/OU=acme/businessCategory=production', '-days', '1'], { stdio: 'ignore' });
    await writeFile(join(dir, 'sota.toml'), `[provision]\nprimary_ecu_hardware_id = "x"\n[import]\nbase_path = "${dir}"\ntls_clientcert_path = "client.pem"\n`);
    assert.equal((await loadDeviceConfig([join(dir, 'sota.toml')])).deviceType, 'prod');
    await writeFile(join(dir, 'z-override.toml'), '[offline]\ndevice_type = "ci"\n');
    assert.equal((await loadDeviceConfig([join(dir, 'sota.toml'), join(dir, 'z-override.toml')])).deviceType, 'ci');
  });

  test('rootfs, start timeout and pruning keys, with their defaults', async () => {
    const base = '[provision]\nprimary_ecu_hardware_id = "x"\n';
    const dir = await configDir({
      'default.toml': base,
      'set.toml': `${base}[pacman]\nsysroot = "/tmp/s"\nos = "other"\n[offline]\nostree = false\nkernel_cmdline = "/tmp/cmdline"\nruntime_dir = "/tmp/run"\nstart_timeout = "30"\nprune = false\n`,
      'forced.toml': `${base}[offline]\nostree = "true"\n`,
      'bad.toml': `${base}[offline]\nostree = "maybe"\n`,
    });
    const defaults = await loadDeviceConfig([join(dir, 'default.toml')]);
    assert.deepEqual(defaults.rootfs, { sysroot: '/sysroot', os: 'lmp', ostree: 'auto', kernelCmdline: '/proc/cmdline', runtimeDir: '/run/fioup-offline' });
    assert.equal(defaults.startTimeoutSeconds, 120);
    assert.equal(defaults.pruneImages, true);
    const set = await loadDeviceConfig([join(dir, 'set.toml')]);
    assert.deepEqual(set.rootfs, { sysroot: '/tmp/s', os: 'other', ostree: false, kernelCmdline: '/tmp/cmdline', runtimeDir: '/tmp/run' });
    assert.equal(set.startTimeoutSeconds, 30);
    assert.equal(set.pruneImages, false);
    assert.equal((await loadDeviceConfig([join(dir, 'forced.toml')])).rootfs.ostree, true);
    await assert.rejects(loadDeviceConfig([join(dir, 'bad.toml')]), /\[offline\] ostree \('auto' or\) must be true or false, not 'maybe'/);
  });

  test('refuses a config without hardware id, a bad watermark, bad TOML', async () => {
    const dir = await configDir({
      'empty.toml': '[pacman]\ntags = "main"\n',
      'watermark.toml': '[provision]\nprimary_ecu_hardware_id = "x"\n[pacman]\nstorage_watermark = "5"\n',
      'broken.toml': '[provision\nprimary_ecu_hardware_id = "x"\n',
    });
    await assert.rejects(loadDeviceConfig([join(dir, 'empty.toml')]), (error: Error) => error instanceof ConfigError && /primary_ecu_hardware_id/.test(error.message));
    await assert.rejects(loadDeviceConfig([join(dir, 'watermark.toml')]), /storage_watermark must be an integer from 20 to 99/);
    await assert.rejects(loadDeviceConfig([join(dir, 'broken.toml')]), /cannot parse .*broken\.toml/);
  });
});
