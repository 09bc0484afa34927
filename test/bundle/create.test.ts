import { ExitCode } from '../../lib/exit-codes.js';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, open, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildFactory, scenarios } from '../../fixtures/factory.js';
import { seededBytes } from '../../fixtures/random.js';
import { appBlobs, buildAppTree } from '../../lib/apps/app-tree.js';
import { MediumBlobSource } from '../../lib/apps/medium-blob-source.js';
import { platformOfArch } from '../../lib/apps/platform.js';
import { ContentVerificationError, InsufficientSpaceError, InvalidMetadataError, NoMatchingTargetError, UsageError } from '../../lib/errors.js';
import { createBundle, defaultCreationTime, WRITE_LABEL, type CreateBundleOptions } from '../../lib/bundle/create.js';
import { bundleFormatFor } from '../../lib/bundle/preflight.js';
import { READ_BACK_LABEL } from '../../lib/bundle/read-back.js';
import type { ProgressEvent } from '../../lib/progress.js';
import { runCli } from '../helpers/cli.js';
import { inspectBundle } from '../../lib/bundle/inspect.js';
import { verifyBundle } from '../../lib/bundle/verify.js';
import { openMedium } from '../../lib/medium/open-medium.js';
import type { Medium } from '../../lib/medium/medium.js';
import { parseAppUri } from '../../lib/targets/app-uri.js';
import { mountSmallFilesystem } from '../helpers/small-filesystem.js';

const createdAt = new Date('2026-01-02T03:04:05Z');
let work: string;
let source: string;
let sourceFiles: string[];

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'bundle-create-'));
  source = (await buildFactory(join(work, 'factory'), scenarios.basic())).dirs.medium;
  sourceFiles = await filesUnder(source);
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name).slice(root.length + 1)).sort();
}

async function readAll(medium: Medium, path: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await medium.open(path)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function create(options: Partial<CreateBundleOptions> & Pick<CreateBundleOptions, 'destination' | 'format'>) {
  return createBundle({ sources: [source], createdAt, ...options });
}

describe('bundle create round trips', () => {
  for (const format of ['dir', 'tar', 'zip'] as const) {
    test(`${format}: every source file reads back identical through the device's reader`, async () => {
      const destination = join(work, `round.${format}`);
      const result = await create({ destination, format });
      assert.equal(result.manifest.files.length, sourceFiles.length);
      assert.deepEqual(result.manifest.targets.map((target) => target.name).sort(), ['amd64-linux-lmp-1', 'amd64-linux-lmp-2', 'raspberrypi4-64-lmp-2']);
      assert.equal(result.manifest.createdAt, createdAt.toISOString());
      const medium = await openMedium(destination);
      try {
        assert.match(medium.description, format === 'dir' ? /^directory/ : new RegExp(`^${format} archive`));
        for (const path of sourceFiles) {
          const original = await readFile(join(source, path));
          assert.ok((await readAll(medium, path)).equals(original), path);
          const listed = result.manifest.files.find((file) => file.path === path);
          assert.deepEqual(listed, { path, size: original.length, sha256: sha256(original) });
        }
        const manifest = JSON.parse((await medium.readFile('bundle.json', 1 << 20)).toString());
        assert.deepEqual(manifest, JSON.parse(JSON.stringify(result.manifest)));
      } finally {
        await medium.close();
      }
      assert.equal((await verifyBundle(destination)).files, sourceFiles.length);
    });
  }

  test('tar and zip are byte-identical across runs and readable by GNU tar, unzip and Python', async () => {
    for (const format of ['tar', 'zip'] as const) {
      await create({ destination: join(work, `one.${format}`), format });
      await create({ destination: join(work, `two.${format}`), format });
      assert.ok((await readFile(join(work, `one.${format}`))).equals(await readFile(join(work, `two.${format}`))), format);
    }
    const listing = execFileSync('tar', ['-tvf', join(work, 'one.tar')]).toString();
    assert.match(listing, /-rw-r--r-- 0\/0 .* 2026-01-02 03:04 tuf\/targets\.json/);
    assert.match(listing, /drwxr-xr-x 0\/0 .* apps\/\n/);
    const extracted = join(work, 'extracted');
    await mkdir(extracted);
    execFileSync('tar', ['-xf', join(work, 'one.tar'), '-C', extracted]);
    assert.deepEqual((await filesUnder(extracted)).filter((path) => path !== 'bundle.json'), sourceFiles);
    assert.match(execFileSync('unzip', ['-t', join(work, 'one.zip')]).toString(), /No errors detected/);
    const python = 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print(len(z.namelist()))';
    assert.equal(execFileSync('python3', ['-c', python, join(work, 'one.zip')]).toString().trim(), String(sourceFiles.length + 1));
  });

  test('zip64 records (forced) read back through ZipMedium and Python', async () => {
    const destination = join(work, 'forced64.zip');
    await create({ destination, format: 'zip', zip64: 'always' });
    assert.equal((await verifyBundle(destination)).files, sourceFiles.length);
    const python = 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print(len(z.namelist()))';
    assert.equal(execFileSync('python3', ['-c', python, destination]).toString().trim(), String(sourceFiles.length + 1));
  });

  test('the creation time comes from SOURCE_DATE_EPOCH when set', () => {
    assert.equal(defaultCreationTime({ SOURCE_DATE_EPOCH: '1767225600' }).toISOString(), '2026-01-01T00:00:00.000Z');
    assert.ok(Math.abs(defaultCreationTime({}).getTime() - Date.now()) < 5000);
    assert.throws(() => defaultCreationTime({ SOURCE_DATE_EPOCH: 'yesterday' }), UsageError);
  });
});

describe('bundle create: resume, verify, inspect, refusals', () => {
  test('an interrupted dir write resumes without --force: complete files are kept, a truncated one is rewritten', async () => {
    const destination = join(work, 'resume');
    const interrupted = new Error('interrupted');
    const stopAfterFive = (event: ProgressEvent) => {
      if (event.type === 'bytes' && event.label === WRITE_LABEL && event.files!.done === 5) throw interrupted;
    };
    await assert.rejects(create({ destination, format: 'dir', onProgress: stopAfterFive }), (error) => error === interrupted);
    const left = await filesUnder(destination);
    assert.ok(!left.includes('bundle.json') && left.includes('.fioup-offline-writing.json'), left.join(' '));
    const victim = left.find((path) => path.startsWith('apps/') && !path.endsWith('.fioup-partial'))!;
    await truncate(join(destination, victim), 3);
    const stale = join(destination, victim.replace(/[^/]+$/, (name) => `.${name}.fioup-partial`));
    await writeFile(stale, 'left by a crash');
    const result = await create({ destination, format: 'dir' });
    assert.equal(result.skipped, 4, 'the complete files are kept');
    assert.equal(result.written, sourceFiles.length - 4);
    assert.ok((await readFile(join(destination, victim))).equals(await readFile(join(source, victim))));
    assert.deepEqual(await filesUnder(destination), [...sourceFiles, 'bundle.json'].sort(), 'no claim, no partial file left');
    await verifyBundle(destination);
  });

  test('bundle verify names every flipped or missing file', async () => {
    for (const format of ['dir', 'tar'] as const) {
      const destination = join(work, `flip.${format}`);
      const result = await create({ destination, format });
      const victim = result.manifest.files.find((file) => file.path === 'tuf/targets.json')!;
      if (format === 'dir') {
        const bytes = await readFile(join(destination, victim.path));
        bytes[10]! ^= 0x01;
        await writeFile(join(destination, victim.path), bytes);
        await rm(join(destination, 'tuf/snapshot.json'));
      } else {
        const archive = await readFile(destination);
        const at = archive.indexOf(await readFile(join(source, victim.path)));
        const handle = await open(destination, 'r+');
        await handle.write(Buffer.from([archive[at + 10]! ^ 0x01]), 0, 1, at + 10);
        await handle.close();
      }
      await assert.rejects(verifyBundle(destination), (error: Error) => {
        assert.ok(error instanceof ContentVerificationError);
        assert.match(error.message, /tuf\/targets\.json: sha256/);
        if (format === 'dir') assert.match(error.message, /tuf\/snapshot\.json: missing/);
        return true;
      });
    }
  });

  test('bundle inspect summarises targets per hardware id', async () => {
    const summary = await inspectBundle(join(work, 'round.zip'));
    assert.deepEqual(Object.keys(summary.targetsByHardwareId).sort(), ['amd64-linux', 'raspberrypi4-64']);
    assert.deepEqual(summary.targetsByHardwareId['amd64-linux']!.map((target) => target.version), [2, 1]);
    assert.deepEqual(summary.targetsByHardwareId['amd64-linux']![0]!.apps.map((app) => app.name), ['health', 'web']);
    assert.equal(summary.fileCount, sourceFiles.length);
    assert.equal(summary.metadataExpires, '2036-01-01T00:00:00.000Z');
    assert.equal(summary.writtenBy?.createdAt, createdAt.toISOString());
  });

  test('an existing bundle is not replaced without force', async () => {
    await assert.rejects(create({ destination: join(work, 'round.tar'), format: 'tar' }), UsageError);
    await assert.rejects(create({ destination: join(work, 'round.dir'), format: 'dir' }), /already holds a bundle/);
    const replaced = await create({ destination: join(work, 'round.tar'), format: 'tar', force: true });
    assert.equal(replaced.written, sourceFiles.length);
  });

  test('a destination too small is refused before anything is written', async () => {
    const bigSource = join(work, 'big-source');
    await cp(source, bigSource, { recursive: true });
    const filler = seededBytes('bundle-test', 'filler', 12 << 20);
    await writeFile(join(bigSource, 'apps/blobs/sha256', sha256(filler)), filler);
    const { mountPoint, unmount } = await mountSmallFilesystem(work, 'small', '8M');
    try {
      const before = await readdir(mountPoint);
      for (const format of ['dir', 'tar', 'zip'] as const) {
        const destination = join(mountPoint, format === 'dir' ? 'bundle' : `bundle.${format}`);
        await assert.rejects(createBundle({ sources: [bigSource], destination, format, createdAt }), (error: Error) => {
          assert.ok(error instanceof InsufficientSpaceError, `${error.name}: ${error.message}`);
          assert.match(error.message, /needs 1\d\.\d MiB but its file system has \d\.\d MiB free/);
          return true;
        });
      }
      assert.deepEqual(await readdir(mountPoint), before);
    } finally {
      unmount();
    }
  });
});

describe('bundle create: selection and merge', () => {
  test('a hardware id selection keeps its targets and every blob their apps need, and drops the rest', async () => {
    const destination = join(work, 'rpi');
    const result = await create({ destination, format: 'dir', selection: { hardwareIds: ['raspberrypi4-64'] } });
    assert.deepEqual(result.manifest.targets.map((target) => target.name), ['raspberrypi4-64-lmp-2']);
    const blobs = (paths: string[]) => paths.filter((path) => path.startsWith('apps/blobs/'));
    const kept = blobs(result.manifest.files.map((file) => file.path));
    assert.ok(kept.length < blobs(sourceFiles).length, 'the version 1 apps are dropped');
    const medium = await openMedium(destination);
    for (const app of result.manifest.targets[0]!.apps) {
      const tree = await buildAppTree(new MediumBlobSource(medium), parseAppUri(app.uri, app.name), platformOfArch('x64'));
      for (const blob of appBlobs(tree)) assert.ok(await medium.stat(`apps/blobs/sha256/${blob.descriptor.digest.slice(7)}`), blob.descriptor.what);
    }
    await medium.close();
    await assert.rejects(create({ destination: join(work, 'none'), format: 'dir', selection: { hardwareIds: ['imx8mm'] } }), NoMatchingTargetError);
  });

  test('downloads merge when their metadata agrees and are refused when it does not', async () => {
    const copy = join(work, 'copy');
    await cp(source, copy, { recursive: true });
    await writeFile(join(copy, 'apps/blobs/sha256', sha256(Buffer.from('extra'))), 'extra');
    const merged = await createBundle({ sources: [source, copy], destination: join(work, 'merged'), format: 'dir', createdAt });
    assert.equal(merged.manifest.files.length, sourceFiles.length + 1);

    const other = (await buildFactory(join(work, 'other'), scenarios.basic({ seed: 'other-factory' }))).dirs.medium;
    await assert.rejects(createBundle({ sources: [source, other], destination: join(work, 'conflict'), format: 'dir', createdAt }), InvalidMetadataError);
    assert.equal(await stat(join(work, 'conflict')).catch(() => undefined), undefined, 'nothing written');
  });
});

describe('bundle create: destination rules and whole-bundle progress', () => {
  test('a destination named .tar or .zip is that archive; --format must agree with it', async () => {
    assert.equal(bundleFormatFor('/media/usb/update.tar', undefined), 'tar');
    assert.equal(bundleFormatFor('/media/usb/UPDATE.ZIP', undefined), 'zip');
    assert.equal(bundleFormatFor('/media/usb/update', undefined), 'dir');
    assert.equal(bundleFormatFor('/media/usb/update', 'zip'), 'zip');
    assert.throws(() => bundleFormatFor('/media/usb/update.tar', 'dir'), (error: Error) => error instanceof UsageError && /names a tar archive, but --format dir was given/.test(error.message));
    assert.throws(() => bundleFormatFor('/media/usb/update.zip', 'tar'), UsageError);

    const named = await runCli(['bundle-create', source, join(work, 'named.zip')]);
    assert.equal(named.code, 0, named.stderr);
    const medium = await openMedium(join(work, 'named.zip'));
    assert.match(medium.description, /^zip archive/);
    await medium.close();
    const clash = await runCli(['bundle-create', source, join(work, 'clash.tar'), '--format', 'zip']);
    assert.equal(clash.code, ExitCode.usage, clash.stderr);
    assert.equal(await stat(join(work, 'clash.tar')).catch(() => undefined), undefined);
  });

  test('a destination inside a download is refused before anything is read or written', async () => {
    const copy = join(work, 'inside-source');
    await cp(source, copy, { recursive: true });
    const before = await filesUnder(copy);
    for (const destination of [copy, join(copy, 'bundle'), join(copy, 'apps', 'bundle.tar')]) {
      await assert.rejects(createBundle({ sources: [copy], destination, format: destination.endsWith('.tar') ? 'tar' : 'dir', createdAt }), (error: Error) =>
        error instanceof UsageError && error.message === `the destination ${destination} is inside the download ${copy}: write the bundle somewhere else`);
    }
    assert.deepEqual(await filesUnder(copy), before);
  });

  test('--min-validity takes a whole number of days, 0 or more', async () => {
    for (const value of ['-1', '1.5', 'soon']) {
      const result = await runCli(['bundle-create', source, join(work, `validity-${value}`), '--min-validity', value]);
      assert.equal(result.code, ExitCode.usage, `${value}: ${result.stderr}`);
      assert.match(result.stderr, /--min-validity must be a whole number of days from 0 to 36500/);
    }
    assert.equal((await runCli(['bundle-create', source, join(work, 'validity-0'), '--min-validity', '0'])).code, 0);
  });

  test('progress tells the whole bundle: bytes and files of all of it, writing then reading back', async () => {
    const events: Extract<ProgressEvent, { type: 'bytes' }>[] = [];
    const result = await create({ destination: join(work, 'progress.tar'), format: 'tar', onProgress: (event) => event.type === 'bytes' && events.push(event) });
    const totalBytes = result.manifest.files.reduce((sum, file) => sum + file.size, 0);
    const writes = events.filter((event) => event.label === WRITE_LABEL);
    assert.ok(writes.length > 1);
    assert.ok(writes.every((event) => event.total === totalBytes && event.files?.total === result.manifest.files.length), 'the totals are the whole bundle\'s');
    assert.ok(writes.every((event, index) => index === 0 || (event.done >= writes[index - 1]!.done && event.files!.done >= writes[index - 1]!.files!.done)));
    assert.deepEqual({ done: writes.at(-1)!.done, files: writes.at(-1)!.files!.done }, { done: totalBytes, files: result.manifest.files.length });
    const readBack = events.filter((event) => event.label === READ_BACK_LABEL);
    assert.ok(readBack.length > 0 && readBack.at(-1)!.done === readBack.at(-1)!.total && readBack.at(-1)!.total > totalBytes, 'the whole archive is read back');

    const cli = await runCli(['bundle-create', source, join(work, 'progress-cli'), '--json']);
    const lines = cli.stdout.trim().split('\n').map((line) => JSON.parse(line));
    const last = lines.filter((line) => line.event === 'bytes' && line.label === WRITE_LABEL).at(-1);
    assert.deepEqual(last.files, { done: result.manifest.files.length, total: result.manifest.files.length });
    const human = await runCli(['bundle-create', source, join(work, 'progress-human')]);
    const count = result.manifest.files.length;
    // Not on a terminal: a timestamped summary line for each, with the bundle's totals.
    const time = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ';
    assert.match(human.stderr, new RegExp(`^${time} write: ${count} files, [\\d.]+ [KMG]iB in [\\d.]+ s`, 'm'));
    assert.match(human.stderr, new RegExp(`^${time} read back: ${count + 1} files, `, 'm'), 'bundle.json is read back too');
  });
});
