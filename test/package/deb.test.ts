import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, lstat, mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { debFileName } from '../../scripts/package/deb.js';
import { repoRoot, runProgram } from '../helpers/cli.js';
import { removeTree } from '../helpers/device.js';

const run = promisify(execFile);
const packageDir = join(repoRoot, 'dist/package');
const version = (JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
const deb = (arch: 'amd64' | 'arm64') => join(packageDir, debFileName(version, arch));
/** The Debian 12 root scripts/provision.sh made with debootstrap (minbase and systemd). */
const DEBIAN_ROOT = join(process.env.FIOUP_ENGINE_CACHE ?? '/var/cache/fioup-offline-test', 'debian-root/bookworm-minbase-systemd.tar.gz');

const INSTALLED = [
  'usr/bin/fioup-offline',
  'usr/share/man/man1/fioup-offline.1.gz',
  'usr/share/bash-completion/completions/fioup-offline',
  'usr/share/doc/fioup-offline/copyright',
  'usr/share/doc/fioup-offline/changelog.gz',
  'usr/share/lintian/overrides/fioup-offline',
  'lib/systemd/system/fioup-offline-usb@.service',
  'lib/systemd/system/fioup-offline-finish.service',
  'lib/udev/rules.d/90-fioup-offline-usb.rules',
];
const ENABLED_LINK = 'etc/systemd/system/multi-user.target.wants/fioup-offline-finish.service';

/** Whether the file or link is there (links into the root point at the root's own paths, not at this host's). */
async function exists(path: string): Promise<boolean> {
  return lstat(path).then(() => true, () => false);
}

describe('the Debian packages', () => {
  test('lintian finds no error and no warning in either package', { timeout: 300_000 }, async () => {
    const result = await runProgram('lintian', ['--fail-on', 'error,warning', deb('amd64'), deb('arm64')]);
    const tags = result.stdout.split('\n').filter((line) => /^[EW]: /.test(line));
    assert.deepEqual(tags, []);
    assert.equal(result.code, 0, result.stderr);
  });

  test('the arm64 package holds the same files as the amd64 one, its executable built for arm64', async () => {
    const contents = async (arch: 'amd64' | 'arm64') => (await run('dpkg-deb', ['--contents', deb(arch)])).stdout.split('\n').map((line) => line.split(/\s+/).at(-1)).filter(Boolean).sort();
    assert.deepEqual(await contents('arm64'), await contents('amd64'));
    assert.equal((await run('dpkg-deb', ['--field', deb('arm64'), 'Architecture'])).stdout.trim(), 'arm64');
    assert.equal((await run('dpkg-deb', ['--field', deb('amd64'), 'Package', 'Version'])).stdout, `Package: fioup-offline\nVersion: ${version}\n`);
  });

  describe('installed with dpkg into a throw-away Debian 12 root', () => {
    let root: string;
    const chroot = (...args: string[]) => runProgram('chroot', [root, ...args], { env: { NODE_EXTRA_CA_CERTS: '' } });

    before(async () => {
      root = await mkdtemp(join(tmpdir(), 'fioup-debian-root-'));
      await run('tar', ['-C', root, '-xzf', DEBIAN_ROOT]);
      await mkdir(join(root, 'tmp'), { recursive: true });
      await copyFile(deb('amd64'), join(root, 'tmp/fioup-offline.deb'));
      const installed = await chroot('dpkg', '-i', '/tmp/fioup-offline.deb');
      assert.equal(installed.code, 0, installed.stdout + installed.stderr);
    });
    after(async () => {
      await removeTree(root);
    });

    test('every file is in place, the after-reboot unit enabled, and the executable runs there with nothing else installed', async () => {
      for (const file of INSTALLED) assert.equal(await exists(join(root, file)), true, file);
      assert.equal(await exists(join(root, ENABLED_LINK)), true, 'fioup-offline-finish.service is enabled');
      const printed = await chroot('/usr/bin/fioup-offline', '--version');
      assert.equal(printed.code, 0, printed.stderr);
      assert.match(printed.stdout, new RegExp(`^fioup-offline ${version.replace(/\./g, '\\.')} \\(commit [0-9a-f]{12}(-dirty)?\\)\n$`));
    });

    test('systemd-analyze verify accepts the units as installed (the USB unit as the instance udev starts)', async () => {
      const verify = await runProgram('systemd-analyze', ['verify', `--root=${root}`, '--man=no', 'fioup-offline-usb@sdb1.service', 'fioup-offline-finish.service']);
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
      assert.equal(verify.stderr.trim(), '');
    });

    test('the man page renders without a warning and documents every command; the completion loads in bash', async () => {
      const man = await runProgram('man', ['--warnings', '-E', 'UTF-8', '-l', '-Tutf8', '-Z', join(root, 'usr/share/man/man1/fioup-offline.1.gz')], { env: { MANWIDTH: '80' } });
      assert.equal(man.code, 0, man.stderr);
      assert.equal(man.stderr, '');
      const text = (await runProgram('man', ['-l', join(root, 'usr/share/man/man1/fioup-offline.1.gz')], { env: { MANWIDTH: '80', MAN_KEEP_FORMATTING: '' } })).stdout;
      for (const command of ['bundle-create', 'bundle verify', 'bundle inspect', 'check', 'install', 'run', 'auto', 'status']) {
        assert.match(text, new RegExp(`^ {3}fioup-offline ${command}$`, 'm'), command);
      }
      assert.match(text, /EXIT STATUS[\s\S]*\n {7}102 +refused/);
      const completion = await runProgram('bash', ['-c', `source ${join(root, 'usr/share/bash-completion/completions/fioup-offline')} && complete -p fioup-offline`]);
      assert.match(completion.stdout, /-F _fioup-offline_yargs_completions fioup-offline/);
    });

    test('dpkg --purge removes it without a trace', async () => {
      const purged = await chroot('dpkg', '--purge', 'fioup-offline');
      assert.equal(purged.code, 0, purged.stdout + purged.stderr);
      for (const file of [...INSTALLED, ENABLED_LINK]) assert.equal(await exists(join(root, file)), false, file);
      assert.notEqual((await chroot('dpkg', '-s', 'fioup-offline')).code, 0);
    });
  });
});
