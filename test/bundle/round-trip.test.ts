import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sampleApps } from '../../fixtures/apps/index.js';
import type { WrittenApp } from '../../fixtures/apps/index.js';
import { buildFactory, scenarios, type FactoryBuild } from '../../fixtures/factory.js';
import { ExitCode } from '../../lib/exit-codes.js';
import { runCli } from '../helpers/cli.js';
import { createTestDevice, projectContainers, removeComposeProjects, removeTree, type TestDevice } from '../helpers/device.js';
import { paxEntry, rawTar } from '../medium/raw-tar.js';

// App names of this file's own: other test files run compose projects on the same dockerd at the same time.
const TINY = 'bundletiny';
const MERGED = 'bundlemerge';
const WEB = 'bundleweb';
const hardwareIds = ['amd64-linux'];
const targetName = (version: number) => `amd64-linux-lmp-${version}`;

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'bundle-round-trip-'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name).slice(root.length + 1)).sort();
}

function ndjson(stdout: string): Record<string, unknown>[] {
  return stdout.trim().split('\n').map((line) => JSON.parse(line));
}

/** Every blob (hex) the factory wrote for an app: its own chain (the manifest's empty config too) and, per platform, each image's. */
async function blobsOf(factory: FactoryBuild, app: WrittenApp): Promise<Set<string>> {
  const hex = (digest: string) => digest.replace(/^sha256:/, '');
  const manifest = JSON.parse(await readFile(join(factory.dirs.apps, 'blobs/sha256', hex(app.manifestDigest)), 'utf8')) as { config: { digest: string } };
  const digests = [app.manifestDigest, manifest.config.digest, app.archiveDigest, app.archiveIndexDigest!, app.layersMetaDigest];
  for (const image of app.images) {
    digests.push(image.pinnedDigest);
    for (const platform of Object.values(image.platforms)) digests.push(platform.manifestDigest, platform.configDigest, ...platform.layerDigests);
  }
  return new Set(digests.map(hex));
}

/** The blobs all apps of a target need. */
async function targetBlobs(factory: FactoryBuild, version: number): Promise<Set<string>> {
  const sets = await Promise.all(appsOf(factory, version).map((app) => blobsOf(factory, app)));
  return new Set(sets.flatMap((set) => [...set]));
}

function appsOf(factory: FactoryBuild, version: number): WrittenApp[] {
  const target = factory.targets.find((candidate) => candidate.name === targetName(version))!;
  return target.apps.map((pinned) => factory.apps.find((app) => app.uri === pinned.uri)!);
}

describe('round trip through the device: dir, tar and zip bundles', () => {
  const formats = ['dir', 'tar', 'zip'] as const;
  let factory: FactoryBuild;
  let device: TestDevice;
  const bundles = new Map<string, string>();

  before(async () => {
    factory = await buildFactory(join(work, 'factory'), scenarios.basic({
      seed: 'bundle-round-trip',
      targets: [1, 2, 3].map((version) => ({ hardwareIds, version, apps: [sampleApps.tiny(TINY, version)] })),
    }));
    device = await createTestDevice(factory);
    await Promise.all(formats.map(async (format) => {
      const destination = join(work, format === 'dir' ? 'bundle' : `bundle.${format}`);
      const result = await runCli(['bundle-create', factory.dirs.medium, destination, '--format', format]);
      assert.equal(result.code, 0, result.stderr);
      bundles.set(format, destination);
    }));
  });
  after(async () => {
    await removeComposeProjects([TINY]);
    await removeTree(device.root);
  });

  // One device walks up the versions, one format each: check (16), install (101), run (0), the new image running.
  formats.forEach((format, index) => {
    const version = index + 1;
    test(`${format}: check 16, install ${targetName(version)} 101, run 0`, async () => {
      const source = ['--src-dir', bundles.get(format)!];
      const check = await device.cli(['check', ...source]);
      assert.equal(check.code, ExitCode.updateAvailable, check.stderr);
      const install = await device.cli(['install', ...source, '--target', targetName(version)]);
      assert.equal(install.code, ExitCode.appsInstalled, install.stderr);
      const run = await device.cli(['run']);
      assert.equal(run.code, ExitCode.ok, run.stderr);
      const service = (await projectContainers(TINY)).get('service');
      assert.equal(service?.state, 'running');
      assert.equal(service?.imageId, appsOf(factory, version)[0]!.images[0]!.platforms.amd64!.configDigest);
      assert.equal((await device.state()).current?.name, targetName(version));
    });
  });
});

describe('two fioctl downloads merged, then narrowed with --target', () => {
  let older: FactoryBuild;
  let newer: FactoryBuild;
  const v1Apps = () => [sampleApps.tiny(MERGED, 1)];
  const v2Apps = () => [sampleApps.tiny(MERGED, 2), sampleApps.webPair(1, WEB)];

  before(async () => {
    // Same factory (seed, keys), downloaded twice: last week target 1 (metadata version 5), today target 2 with
    // newer metadata that lists both. Today's download is trimmed to target 2's apps, as a download of it alone holds.
    [older, newer] = await Promise.all([
      buildFactory(join(work, 'older'), scenarios.basic({ seed: 'bundle-merge', targets: [{ hardwareIds, version: 1, apps: v1Apps() }] })),
      buildFactory(join(work, 'newer'), scenarios.basic({
        seed: 'bundle-merge',
        tuf: { rootVersion: 4, rotations: { root: [3] }, metadataVersion: 6 },
        targets: [{ hardwareIds, version: 1, apps: v1Apps() }, { hardwareIds, version: 2, apps: v2Apps() }],
      })),
    ]);
    const keep = await targetBlobs(newer, 2);
    const dropped = [...(await targetBlobs(newer, 1))].filter((hex) => !keep.has(hex));
    await rm(appsOf(newer, 1)[0]!.dir, { recursive: true });
    for (const hex of dropped) await rm(join(newer.dirs.apps, 'blobs/sha256', hex));
  });

  test('each download alone lacks something; merged, the bundle holds exactly both, under the newer metadata', async () => {
    const alone = await runCli(['bundle-create', newer.dirs.medium, join(work, 'newer-alone'), '--json']);
    assert.equal(alone.code, 0, alone.stderr);
    const aloneResult = ndjson(alone.stdout).at(-1) as { manifest: { targets: { name: string; installs: string }[] }; notes: string[] };
    assert.deepEqual(aloneResult.manifest.targets.map((target) => [target.name, target.installs]), [[targetName(1), 'nothing'], [targetName(2), 'apps only']]);
    assert.ok(aloneResult.notes.includes(`${targetName(1)}: a device can install nothing from this bundle (no images of ${MERGED}; no rootfs commit ${newer.targets[0]!.sha256} in ostree_repo/)`), aloneResult.notes.join('\n'));

    const destination = join(work, 'merged');
    const merged = await runCli(['bundle-create', older.dirs.medium, newer.dirs.medium, destination, '--json']);
    assert.equal(merged.code, 0, merged.stderr);
    const union = [...new Set([...(await filesUnder(older.dirs.medium)), ...(await filesUnder(newer.dirs.medium))])].sort();
    assert.deepEqual(await filesUnder(destination), [...union, 'bundle.json'].sort());
    for (const file of ['tuf/timestamp.json', 'tuf/snapshot.json', 'tuf/targets.json', 'tuf/bundle-targets.json']) {
      assert.ok((await readFile(join(destination, file))).equals(await readFile(join(newer.dirs.medium, file))), file);
    }
    const result = ndjson(merged.stdout).at(-1) as { manifest: { targets: { name: string }[] }; notes: string[] };
    assert.deepEqual(result.manifest.targets.map((target) => target.name), [targetName(1), targetName(2)]);
    assert.ok(result.notes.some((note) => note.includes(`TUF metadata from ${newer.dirs.medium}`)), result.notes.join('\n'));
  });

  test('--target keeps exactly the blobs its apps reach, and drops the other target\'s app', async () => {
    const destination = join(work, 'only-2');
    const created = await runCli(['bundle-create', older.dirs.medium, newer.dirs.medium, destination, '--target', targetName(2)]);
    assert.equal(created.code, 0, created.stderr);
    const files = await filesUnder(destination);
    const blobs = files.filter((path) => path.startsWith('apps/blobs/sha256/')).map((path) => path.slice('apps/blobs/sha256/'.length)).sort();
    const reachable = [...(await targetBlobs(newer, 2))].sort();
    assert.deepEqual(blobs, reachable);
    const appDirectories = [...new Set(files.filter((path) => path.startsWith('apps/apps/')).map((path) => path.split('/').slice(2, 4).join('/')))].sort();
    assert.deepEqual(appDirectories, appsOf(newer, 2).map((app) => `${app.name}/${app.manifestDigest.slice(7)}`).sort());
    const manifest = JSON.parse(await readFile(join(destination, 'bundle.json'), 'utf8'));
    assert.deepEqual(manifest.targets.map((target: { name: string }) => target.name), [targetName(2)]);
  });
});

describe('hostile archives given to the device', () => {
  let device: TestDevice;
  let factory: FactoryBuild;

  before(async () => {
    factory = await buildFactory(join(work, 'hostile-factory'), scenarios.basic({
      seed: 'bundle-hostile',
      targets: [{ hardwareIds, version: 1, apps: [sampleApps.tiny(TINY, 1)] }],
    }));
    device = await createTestDevice(factory);
  });
  after(async () => {
    await removeTree(device.root);
  });

  // test/medium covers every hostile entry kind against the readers; here a few go through the device's CLI.
  test('tar: a .. name, a hard link out, an oversized PAX entry: refused (11) with the entry named, nothing written outside', async () => {
    const timestamp = await readFile(join(factory.dirs.tuf, 'timestamp.json'));
    const layout = [{ name: 'tuf/', type: '5' }, { name: 'tuf/timestamp.json', data: timestamp }];
    const cases: [string, Parameters<typeof rawTar>[0], RegExp][] = [
      ['dotdot', [...layout, { name: 'tuf/../../tar-escaped', data: Buffer.from('out') }], /climbs out with '\.\.'/],
      ['hardlink', [...layout, { name: 'tuf/snapshot.json', type: '1', linkName: '../../etc/shadow' }], /tuf\/snapshot\.json.*is a hard link/],
      ['huge', [...layout, paxEntry({ size: String(10 * 1024 ** 3) }), { name: 'apps/blobs/sha256/huge', data: Buffer.from('small') }], /claims 10737418240 bytes, past the end/],
    ];
    const results = await Promise.all(cases.map(async ([name, entries]) => {
      const archive = join(work, `evil-${name}.tar`);
      await writeFile(archive, rawTar(entries));
      return device.cli(['check', '--src-dir', archive]);
    }));
    cases.forEach(([name, , message], index) => {
      assert.equal(results[index]!.code, ExitCode.security, `${name}: ${results[index]!.stderr}`);
      assert.match(results[index]!.stderr, message, name);
    });
    assert.deepEqual((await readdir(work)).filter((name) => name.includes('escaped')), []);
    assert.deepEqual(await filesUnder(device.storage).catch(() => []), [], 'the device wrote nothing');
  });

  test('zip: a zip-slip name is refused (11), nothing written outside', async () => {
    const slip = join(work, 'evil-slip.zip');
    const python = 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1], "w"); z.writestr("tuf/timestamp.json", open(sys.argv[2], "rb").read()); z.writestr("../../zip-escaped", "out"); z.close()';
    execFileSync('python3', ['-c', python, slip, join(factory.dirs.tuf, 'timestamp.json')]);
    const slipped = await device.cli(['check', '--src-dir', slip]);
    assert.equal(slipped.code, ExitCode.security, slipped.stderr);
    assert.match(slipped.stderr, /"\.\.\/\.\.\/zip-escaped" climbs out with '\.\.'/);
    assert.deepEqual((await readdir(join(work, '..'))).filter((name) => name.includes('zip-escaped')), []);
    assert.deepEqual((await readdir(work)).filter((name) => name.includes('escaped')), []);
  });
});
