import { ExitCode } from '../../lib/exit-codes.js';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sampleApps } from '../../fixtures/apps/index.js';
import { buildFactory, scenarios } from '../../fixtures/factory.js';
import { describeDrive, listDrivesWithLsblk, listSystemDrives, resolveDrive, type DriveInfo } from '../../lib/bundle/drive.js';
import { MediumNotFoundError, UsageError } from '../../lib/errors.js';
import { runCli } from '../helpers/cli.js';
import { parseLsblk } from '../helpers/drives.js';

let work: string;
/** Directories standing in for the mount points of the injected drives. */
let stickA: string;
let stickB: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'bundle-drive-'));
  stickA = join(work, 'stick-a');
  stickB = join(work, 'stick-b');
  await mkdir(stickA);
  await mkdir(stickB);
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

function drive(overrides: Partial<DriveInfo>): DriveInfo {
  return { device: '/dev/sdz', model: 'Acme Stick', sizeBytes: 32_000_000_000, usb: true, removable: true, system: false, readOnly: false, mountPoints: [], ...overrides };
}

const systemDisk = drive({ device: '/dev/nvme0n1', model: 'Samsung SSD', usb: false, removable: false, system: true, mountPoints: [{ path: '/', label: undefined }] });
const lister = (...drives: DriveInfo[]) => async () => drives;

describe('--drive auto with an injected device list', () => {
  test('the one USB drive is chosen, with device, model, size, label and mount point', async () => {
    const usb = drive({ device: '/dev/sdb', model: 'SanDisk Ultra', mountPoints: [{ path: stickA, label: 'FIOUP' }] });
    const chosen = await resolveDrive('auto', { listDrives: lister(systemDisk, usb) });
    assert.deepEqual(chosen, { mountPoint: stickA, device: '/dev/sdb', model: 'SanDisk Ultra', sizeBytes: 32_000_000_000, label: 'FIOUP' });
    assert.equal(describeDrive(chosen), `/dev/sdb (SanDisk Ultra, 29.8 GiB, label FIOUP) mounted at ${stickA}`);
  });

  test('two usable USB drives are refused, both listed', async () => {
    const drives = lister(drive({ device: '/dev/sdb', mountPoints: [{ path: stickA, label: 'A' }] }), drive({ device: '/dev/sdc', model: 'Kingston', mountPoints: [{ path: stickB, label: 'B' }] }));
    await assert.rejects(resolveDrive('auto', { listDrives: drives }), (error: Error) => {
      assert.ok(error instanceof UsageError);
      assert.match(error.message, /several removable USB drives/);
      assert.match(error.message, new RegExp(`/dev/sdb \\(Acme Stick.*\\) mounted at ${stickA}`));
      assert.match(error.message, new RegExp(`/dev/sdc \\(Kingston.*\\) mounted at ${stickB}`));
      return true;
    });
  });

  test('system, read-only and unmounted drives are refused, each with its reason', async () => {
    const cases: [DriveInfo, RegExp][] = [
      [drive({ device: '/dev/sdb', system: true, mountPoints: [{ path: stickA, label: undefined }] }), /\/dev\/sdb holds the running system/],
      [drive({ device: '/dev/sdb', mountPoints: [{ path: '/boot', label: undefined }] }), /\/dev\/sdb holds the running system/],
      [drive({ device: '/dev/sdb', readOnly: true, mountPoints: [{ path: stickA, label: undefined }] }), /\/dev\/sdb is read-only/],
      [drive({ device: '/dev/sdb' }), /\/dev\/sdb is not mounted \(mount it, e\.g\. 'mkdir -p \/mnt\/usb && mount \/dev\/sdb1 \/mnt\/usb'/],
      [drive({ device: '/dev/sdb', mountPoints: [{ path: stickA, label: 'A' }, { path: stickB, label: 'B' }] }), /several mounted file systems/],
    ];
    for (const [refused, reason] of cases) {
      await assert.rejects(resolveDrive('auto', { listDrives: lister(systemDisk, refused) }), (error: Error) => {
        assert.ok(error instanceof UsageError, error.message);
        assert.match(error.message, reason);
        return true;
      });
    }
    const usable = drive({ device: '/dev/sdc', mountPoints: [{ path: stickB, label: undefined }] });
    const chosen = await resolveDrive('auto', { listDrives: lister(cases[2]![0], usable) });
    assert.equal(chosen.device, '/dev/sdc', 'a read-only stick beside a usable one is not a reason to refuse');
  });

  test('no removable drive at all says so', async () => {
    await assert.rejects(resolveDrive('auto', { listDrives: lister(systemDisk) }), (error: Error) => error instanceof MediumNotFoundError && /no removable USB drive found \(\/dev\/nvme0n1\)/.test(error.message));
  });
});

describe('--drive never writes to the disk that holds the running system', () => {
  test('a partition of the system disk, named by its mount point or a directory on it, is refused; a USB partition is taken', async () => {
    const table = join(work, 'mounts-system');
    const data = join(work, 'data');
    await mkdir(join(data, 'bundles'), { recursive: true });
    await writeFile(table, `/dev/sdx1 / ext4 rw 0 0\n/dev/sdx2 ${data} ext4 rw 0 0\n/dev/sdb1 ${stickA} vfat rw 0 0\n`);
    const disk = drive({ device: '/dev/sdx', usb: false, removable: false, system: true, mountPoints: [{ path: '/', label: undefined }, { path: data, label: 'DATA' }] });
    const usb = drive({ device: '/dev/sdb', mountPoints: [{ path: stickA, label: 'FIOUP' }] });
    for (const spec of [data, join(data, 'bundles')]) {
      await assert.rejects(resolveDrive(spec, { mountTable: table, listDrives: lister(disk, usb) }), (error: Error) =>
        error instanceof UsageError && error.message === `${spec} is on /dev/sdx, the disk that holds the running system (/ is mounted from it): name a USB drive`);
    }
    assert.deepEqual(await resolveDrive(stickA, { mountTable: table, listDrives: lister(disk, usb) }), { mountPoint: stickA });
  });

  test('on this host: /, a directory of the root file system, and the root device itself are refused', async () => {
    const root = (await readFile('/proc/mounts', 'utf8')).split('\n').map((line) => line.split(' ')).find((fields) => fields[1] === '/')!;
    assert.match(root[0]!, /^\/dev\//, 'the root file system of this host is on a block device');
    await assert.rejects(resolveDrive('/'), /is on the file system mounted at \/: it holds the running system/);
    const onRoot = await mkdtemp(join('/var/tmp', 'bundle-drive-system-'));
    try {
      const mountedAt = execFileSync('findmnt', ['-n', '-o', 'TARGET', '-T', onRoot]).toString().trim();
      assert.equal(mountedAt, '/', `${onRoot} is on the root file system`);
      await assert.rejects(resolveDrive(onRoot), (error: Error) => error instanceof UsageError && /holds the running system/.test(error.message));
    } finally {
      await rm(onRoot, { recursive: true, force: true });
    }
    await assert.rejects(resolveDrive(root[0]!), (error: Error) => error instanceof UsageError && error.message === `${root[0]} is mounted at /: it holds the running system`);
    const cli = await runCli(['bundle-create', join(work, 'no-download'), '--drive', '/']);
    assert.equal(cli.code, ExitCode.usage, cli.stderr);
    assert.match(cli.stderr, /holds the running system/);
  });
});

describe('drive listing', () => {
  test('lsblk JSON: partitions fold into their disk, with label, vendor and model', () => {
    const json = JSON.stringify({
      blockdevices: [
        { path: '/dev/sda', type: 'disk', vendor: 'ATA     ', model: 'Disk', size: 500107862016, tran: 'sata', rm: false, hotplug: false, ro: false, mountpoints: [null],
          children: [{ path: '/dev/sda1', type: 'part', label: null, mountpoints: ['/'] }] },
        { path: '/dev/sdb', type: 'disk', vendor: 'SanDisk ', model: 'Ultra', size: 30752636928, tran: 'usb', rm: true, hotplug: true, ro: false, mountpoints: [null],
          children: [{ path: '/dev/sdb1', type: 'part', label: 'FIOUP', mountpoint: '/media/usb', mountpoints: ['/media/usb'] }] },
        { path: '/dev/sdc', type: 'disk', vendor: null, model: null, size: 8, tran: 'usb', rm: '1', hotplug: '1', ro: '1', mountpoint: null },
      ],
    });
    assert.deepEqual(parseLsblk(json), [
      { device: '/dev/sda', model: 'ATA Disk', sizeBytes: 500107862016, usb: false, removable: false, system: true, readOnly: false, mountPoints: [{ path: '/', label: undefined }] },
      { device: '/dev/sdb', model: 'SanDisk Ultra', sizeBytes: 30752636928, usb: true, removable: true, system: false, readOnly: false, mountPoints: [{ path: '/media/usb', label: 'FIOUP' }] },
      { device: '/dev/sdc', model: '', sizeBytes: 8, usb: true, removable: true, system: false, readOnly: true, mountPoints: [] },
    ]);
  });

  test('the lsblk fallback sees the same disks as drivelist on this host, and every mount drivelist reports', async () => {
    const ignored = /^\/dev\/(loop|sr|ram)/;
    const byDevice = (drives: DriveInfo[]) => new Map(drives.filter((d) => !ignored.test(d.device)).map((d) => [d.device, d]));
    const fromLsblk = byDevice(await listDrivesWithLsblk());
    const fromDrivelist = byDevice(await listSystemDrives());
    assert.ok(fromLsblk.size > 0);
    assert.deepEqual([...fromLsblk.keys()].sort(), [...fromDrivelist.keys()].sort());
    for (const [device, seen] of fromDrivelist) {
      const ours = fromLsblk.get(device)!;
      assert.equal(ours.usb, seen.usb, device);
      assert.equal(ours.readOnly, seen.readOnly, device);
      // drivelist keeps one mount per partition; lsblk's fallback keeps them all (bind mounts too).
      for (const mount of seen.mountPoints) assert.ok(ours.mountPoints.some((m) => m.path === mount.path), `${device} ${mount.path}`);
    }
  });
});

describe('--drive with a real loop device', () => {
  let image: string;
  let mountPoint: string;
  let loop: string;
  let source: string;

  before(async () => {
    source = (await buildFactory(join(work, 'factory'), scenarios.basic({
      seed: 'bundle-drive',
      targets: [{ hardwareIds: ['amd64-linux'], version: 1, apps: [sampleApps.tiny('bundledrive', 1)] }],
    }))).dirs.medium;
    image = join(work, 'stick.img');
    mountPoint = join(work, 'mnt');
    await mkdir(mountPoint);
    execFileSync('truncate', ['-s', '16M', image]);
    execFileSync('mkfs.ext4', ['-q', image]);
    loop = execFileSync('losetup', ['-f', '--show', image]).toString().trim();
  });
  after(() => {
    spawnSync('umount', [mountPoint]);
    execFileSync('losetup', ['-d', loop]);
  });

  test('an unmounted device is refused with how to mount it', async () => {
    await assert.rejects(resolveDrive(loop), (error: Error) => error instanceof MediumNotFoundError && error.message.includes(`${loop} is not mounted: mount it first (e.g. 'mkdir -p /mnt/usb && mount ${loop} /mnt/usb')`));
  });

  test('a device read-only mounted is refused', async () => {
    execFileSync('mount', ['-o', 'ro', loop, mountPoint]);
    try {
      await assert.rejects(resolveDrive(loop), (error: Error) => error instanceof UsageError && error.message.includes(`${loop} is mounted read-only at ${mountPoint}`));
    } finally {
      execFileSync('umount', [mountPoint]);
    }
  });

  test('a partition, found through the mount table, resolves; two mounts or a system mount are refused', async () => {
    const table = join(work, 'mounts');
    await writeFile(table, `${loop}p1 ${join(work, 'stick\\040a')} ext4 rw 0 0\n`);
    await mkdir(join(work, 'stick a'));
    assert.deepEqual(await resolveDrive(loop, { mountTable: table }), { mountPoint: join(work, 'stick a'), device: loop });
    await writeFile(table, `${loop}p1 ${stickA} ext4 rw 0 0\n${loop}p2 ${stickB} ext4 rw 0 0\n`);
    await assert.rejects(resolveDrive(loop, { mountTable: table }), /mounted at several places/);
    await writeFile(table, `${loop} / ext4 rw 0 0\n`);
    await assert.rejects(resolveDrive(loop, { mountTable: table }), /holds the running system/);
  });

  test('bundle-create --drive <device> writes the bundle at the mount point and reports the drive', async () => {
    execFileSync('mount', [loop, mountPoint]);
    const created = await runCli(['bundle-create', source, '--drive', loop, '--format', 'tar', '--json']);
    assert.equal(created.code, 0, created.stderr + created.stdout);
    const lines = created.stdout.trim().split('\n').map((line) => JSON.parse(line));
    assert.ok(lines.some((line) => line.event === 'info' && line.message === `writing to ${loop} mounted at ${mountPoint}`));
    const result = lines.at(-1);
    assert.equal(result.destination, join(mountPoint, 'fioup-offline-bundle.tar'));
    assert.deepEqual(result.drive, { mountPoint, device: loop });
    assert.deepEqual((await readdir(mountPoint)).sort(), ['fioup-offline-bundle.tar', 'lost+found']);
    assert.ok((await stat(result.destination)).size > 0);

    const byMountPoint = await runCli(['bundle-create', source, '--drive', `${mountPoint}/`, '--format', 'zip']);
    assert.equal(byMountPoint.code, 0, byMountPoint.stderr);
    assert.match(byMountPoint.stdout, new RegExp(`Bundle written to ${mountPoint}/fioup-offline-bundle\\.zip and verified`));
    const notADrive = await runCli(['bundle-create', source, '--drive', join(work, 'nowhere')]);
    assert.equal(notADrive.code, 1);
    assert.match(notADrive.stderr, /neither a block device, a mount point, nor 'auto'/);
  });
});
