import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildFactory, scenarios } from '../../fixtures/factory.js';
import { createBundle, type CreateBundleOptions } from '../../lib/bundle/create.js';
import { WRITE_CLAIM } from '../../lib/bundle/destination.js';
import { verifyBundle } from '../../lib/bundle/verify.js';
import { UsageError } from '../../lib/errors.js';
import { ExitCode } from '../../lib/exit-codes.js';
import { runCli } from '../helpers/cli.js';

/**
 * bundle-create never deletes or overwrites what it did not write (issue 17, item 1): the user's files in a
 * destination directory, a file that is not a bundle, a device node, a FIFO. Every refusal leaves the destination
 * exactly as it was, and says what is in the way.
 */

const createdAt = new Date('2026-01-02T03:04:05Z');
let work: string;
let source: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'bundle-destination-'));
  source = (await buildFactory(join(work, 'factory'), scenarios.basic({ seed: 'bundle-destination' }))).dirs.medium;
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

function create(options: Partial<CreateBundleOptions> & Pick<CreateBundleOptions, 'destination'>) {
  return createBundle({ sources: [source], createdAt, format: 'dir', ...options });
}

/** Everything under `root` (or at it), each entry with what it is and, for files, its bytes' sha256. */
function snapshot(root: string): Record<string, string> {
  const entries: Record<string, string> = {};
  const visit = (path: string, name: string) => {
    const info = lstatSync(path);
    if (info.isDirectory()) {
      entries[name] = 'directory';
      for (const child of execFileSync('ls', ['-A', path]).toString().split('\n').filter(Boolean)) visit(join(path, child), name ? `${name}/${child}` : child);
    } else if (info.isFile()) entries[name] = `file ${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
    else if (info.isSymbolicLink()) entries[name] = `link ${execFileSync('readlink', [path]).toString().trim()}`;
    else entries[name] = `mode ${info.mode.toString(8)} rdev ${info.rdev}`;
  };
  visit(root, '');
  return entries;
}

async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => !entry.isDirectory()).map((entry) => join(entry.parentPath, entry.name).slice(root.length + 1)).sort();
}

/** A USB stick's worth of the user's own things, some in folders named like the layout's. */
async function userStick(name: string): Promise<string> {
  const stick = join(work, name);
  await mkdir(join(stick, 'apps'), { recursive: true });
  await mkdir(join(stick, 'tuf'), { recursive: true });
  await mkdir(join(stick, 'photos'), { recursive: true });
  await writeFile(join(stick, 'apps', 'my-app-notes.txt'), 'the user\'s notes about apps\n');
  await writeFile(join(stick, 'tuf', 'README'), 'the user\'s tuf folder\n');
  await writeFile(join(stick, 'photos', 'site.jpg'), Buffer.alloc(4096, 7));
  return stick;
}

const rejectsWith = (work: Promise<unknown>, ...patterns: RegExp[]) => assert.rejects(work, (error: Error) => {
  assert.ok(error instanceof UsageError, `${error.name}: ${error.message}`);
  for (const pattern of patterns) assert.match(error.message, pattern);
  return true;
});

describe('a directory destination that holds the user\'s files', () => {
  test('nothing collides: the bundle is written beside them, and every file of the user is left as it was', async () => {
    const stick = await userStick('beside');
    const before = snapshot(stick);
    const result = await create({ destination: stick });
    const after = snapshot(stick);
    for (const [path, what] of Object.entries(before)) assert.equal(after[path], what, path);
    assert.equal(after[WRITE_CLAIM], undefined, 'no claim left once the bundle is read back');
    assert.equal((await verifyBundle(stick)).files, result.manifest.files.length);
    // A second bundle over it (--force) replaces the first and still leaves the user's files alone.
    await create({ destination: stick, force: true, selection: { hardwareIds: ['raspberrypi4-64'] } });
    const replaced = snapshot(stick);
    for (const [path, what] of Object.entries(before)) assert.equal(replaced[path], what, path);
    await verifyBundle(stick);
  });

  test('files in the way are refused with the list of what they are, with or without --force; nothing changes', async () => {
    const stick = await userStick('collide');
    await writeFile(join(stick, 'tuf', 'targets.json'), 'my own targets\n');
    await writeFile(join(stick, 'bundle.json'), 'not ours');
    const outside = join(work, 'collide-outside');
    await mkdir(outside);
    await writeFile(join(outside, 'keep'), 'outside the stick');
    await mkdir(join(stick, 'apps', 'apps'));
    await symlink(outside, join(stick, 'apps', 'blobs'));
    const before = snapshot(stick);
    const outsideBefore = snapshot(outside);
    for (const force of [false, true]) {
      await rejectsWith(create({ destination: stick, force }),
        new RegExp(`^${stick} holds 3 entries bundle-create did not write, in the way of the bundle's files:`),
        /^ {2}tuf\/targets\.json: a file of 15 B$/m,
        new RegExp(`^  apps/blobs: a symbolic link to ${outside}, where the bundle needs a directory$`, 'm'),
        /^ {2}bundle\.json: a file of 8 B, not one bundle-create wrote \(directory .*: bundle\.json: invalid JSON at byte 0: unexpected character\)$/m,
        force ? /--force replaces only a bundle it wrote/ : /move them away, or write the bundle to a new or empty directory$/);
      assert.deepEqual(snapshot(stick), before);
      assert.deepEqual(snapshot(outside), outsideBefore);
    }
  });

  test('the refusal lists ten entries and counts the rest', async () => {
    const stick = join(work, 'many');
    await cp(join(source, 'apps'), join(stick, 'apps'), { recursive: true });
    const count = (await filesUnder(stick)).length;
    await rejectsWith(create({ destination: stick }), new RegExp(`^${stick} holds ${count} entries`), /^ {2}apps\/apps\/.*: a file of/m, new RegExp(`^  and ${count - 10} more$`, 'm'));
  });

  test('a previous bundle is replaced only with --force, and only its own files go', async () => {
    const stick = join(work, 'previous');
    const first = await create({ destination: stick });
    await rejectsWith(create({ destination: stick }), new RegExp(`^${stick} already holds a bundle \\(written by fioup-offline \\S+ at ${createdAt.toISOString()}, ${first.manifest.files.length} files\\); use --force to replace it$`));
    await writeFile(join(stick, 'apps', 'blobs', 'sha256', 'mine'), 'a file of the user beside the blobs');
    const narrow = await create({ destination: stick, force: true, selection: { hardwareIds: ['raspberrypi4-64'] } });
    assert.ok(narrow.manifest.files.length < first.manifest.files.length);
    assert.deepEqual(await filesUnder(stick), [...narrow.manifest.files.map((file) => file.path), 'apps/blobs/sha256/mine', 'bundle.json'].sort(),
      'what only the first bundle held is gone; the user\'s file stays');
    await verifyBundle(stick);
  });

  test('an interrupted write is resumed by a run with another selection: it removes what the first run wrote, nothing else', async () => {
    const stick = await userStick('interrupted');
    const before = snapshot(stick);
    const interrupted = new Error('interrupted');
    await assert.rejects(create({
      destination: stick,
      onProgress: (event) => {
        if (event.type === 'bytes' && event.files!.done === 20) throw interrupted;
      },
    }), (error) => error === interrupted);
    const claimed = JSON.parse(await readFile(join(stick, WRITE_CLAIM), 'utf8')) as { paths: string[] };
    assert.ok(claimed.paths.includes('bundle.json') && !claimed.paths.includes('photos/site.jpg'));
    const narrow = await create({ destination: stick, selection: { hardwareIds: ['raspberrypi4-64'] } });
    const userFiles = Object.entries(before).filter(([, what]) => what.startsWith('file')).map(([path]) => path);
    assert.deepEqual(await filesUnder(stick), [...narrow.manifest.files.map((file) => file.path), ...userFiles, 'bundle.json'].sort());
    const after = snapshot(stick);
    for (const path of userFiles) assert.equal(after[path], before[path], path);
  });

  test('a claim naming paths out of the destination, or through a link, removes nothing there', async () => {
    const stick = join(work, 'bad-claim');
    const outside = join(work, 'bad-claim-outside');
    await mkdir(join(outside, 'blobs'), { recursive: true });
    await writeFile(join(outside, 'victim'), 'must stay');
    await writeFile(join(outside, 'blobs', 'victim'), 'must stay too');
    await mkdir(join(stick, 'apps'), { recursive: true });
    await symlink(join(outside, 'blobs'), join(stick, 'apps', 'elsewhere'));
    await writeFile(join(stick, WRITE_CLAIM), JSON.stringify({ format: 'fioup-offline-bundle-claim', paths: ['../bad-claim-outside/victim'] }));
    await rejectsWith(create({ destination: stick }), new RegExp(`^${join(stick, WRITE_CLAIM)}, left by an interrupted bundle-create, has a bad path at paths\\[0\\]: remove it`));
    await writeFile(join(stick, WRITE_CLAIM), JSON.stringify({ format: 'fioup-offline-bundle-claim', paths: ['apps/elsewhere/victim'] }));
    await create({ destination: stick });
    assert.equal(await readFile(join(outside, 'victim'), 'utf8'), 'must stay');
    assert.equal(await readFile(join(outside, 'blobs', 'victim'), 'utf8'), 'must stay too');
    assert.equal(await readlink(join(stick, 'apps', 'elsewhere')), join(outside, 'blobs'));
  });
});

describe('an archive destination that is not a bundle of ours', () => {
  test('a file of the user (here a tar of a raw download) is refused, with or without --force, and left as it was', async () => {
    const mine = join(work, 'backup.tar');
    execFileSync('tar', ['-cf', mine, '-C', source, 'tuf', 'apps']);
    const before = snapshot(mine);
    for (const force of [false, true]) {
      await rejectsWith(create({ destination: mine, format: 'tar', force }),
        new RegExp(`^${mine} is a file of [\\d.]+ [KM]iB that bundle-create did not write \\(tar archive .* has no bundle\\.json: not written by 'bundle create'\\): it replaces only a bundle it wrote; move the file away or name another destination$`));
      assert.deepEqual(snapshot(mine), before);
    }
    const text = join(work, 'notes.zip');
    await writeFile(text, 'not a zip at all');
    await rejectsWith(create({ destination: text, format: 'zip', force: true }), /is a file of 16 B that bundle-create did not write \(.*neither a plain tar nor a zip archive\)/);
    assert.equal(await readFile(text, 'utf8'), 'not a zip at all');
  });

  test('a bundle of ours is replaced with --force only', async () => {
    for (const format of ['tar', 'zip'] as const) {
      const destination = join(work, `ours.${format}`);
      await create({ destination, format });
      await rejectsWith(create({ destination, format }), /already holds a bundle \(written by fioup-offline .* at 2026-01-02T03:04:05.000Z, \d+ files\); use --force/);
      await create({ destination, format, force: true, createdAt: new Date('2026-02-01T00:00:00Z') });
      assert.equal((await verifyBundle(destination)).kind, 'bundle');
    }
  });

  test('a FIFO, a character device, a directory and a link are never replaced, even with --force (and nothing hangs on the FIFO)', async () => {
    const cases: [string, () => void, RegExp][] = [
      ['fifo.tar', () => execFileSync('mkfifo', [join(work, 'fifo.tar')]), /is a FIFO \(named pipe\)/],
      ['null.tar', () => execFileSync('mknod', [join(work, 'null.tar'), 'c', '1', '3']), /is a character device \(1:3\)/],
      ['folder.zip', () => execFileSync('mkdir', [join(work, 'folder.zip')]), /is a directory/],
      ['link.tar', () => execFileSync('ln', ['-s', join(work, 'backup.tar'), join(work, 'link.tar')]), new RegExp(`is a symbolic link to ${join(work, 'backup.tar')}`)],
    ];
    for (const [name, make, what] of cases) {
      make();
      const destination = join(work, name);
      const before = snapshot(destination);
      await rejectsWith(create({ destination, format: name.endsWith('.zip') ? 'zip' : 'tar', force: true }), what,
        /bundle-create writes the (tar|zip) archive as a new file and replaces only a bundle it wrote/);
      assert.deepEqual(snapshot(destination), before, name);
      if (name === 'folder.zip') continue;
      await rejectsWith(create({ destination, format: 'dir', force: true }), /, not a directory: name a new or existing directory/);
      assert.deepEqual(snapshot(destination), before, name);
    }
  });

  test('a loop device named with --force stays a block device with its bytes (CLI: exit 1, the message says what it is)', async () => {
    const image = join(work, 'stick.img');
    await writeFile(image, Buffer.alloc(1 << 20, 0x5a));
    const loop = execFileSync('losetup', ['-f', '--show', image]).toString().trim();
    try {
      const before = snapshot(loop);
      const head = () => readFileSync(loop).subarray(0, 1 << 20);
      assert.ok(head().equals(Buffer.alloc(1 << 20, 0x5a)));
      for (const format of ['tar', 'zip', 'dir']) {
        const result = await runCli(['bundle-create', source, loop, '--format', format, '--force']);
        assert.equal(result.code, ExitCode.usage, result.stderr);
        assert.match(result.stderr, new RegExp(`${loop} is a block device \\(7:\\d+\\)`));
        if (format !== 'dir') assert.match(result.stderr, /mount it and use --drive with the device/);
        assert.deepEqual(snapshot(loop), before, format);
        assert.ok(head().equals(Buffer.alloc(1 << 20, 0x5a)), `${format}: the device's bytes are untouched`);
      }
    } finally {
      execFileSync('losetup', ['-d', loop]);
    }
  });
});
