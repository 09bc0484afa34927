import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { MediumNotFoundError } from '../../lib/errors.js';
import { findMediaOnRemovableDrives, openMedium } from '../../lib/medium/open-medium.js';
import { rawTar } from './raw-tar.js';

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'open-medium-'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

async function layout(root: string): Promise<void> {
  await mkdir(join(root, 'tuf'), { recursive: true });
  await writeFile(join(root, 'tuf/targets.json'), 'targets');
}

describe('openMedium', () => {
  test('a directory holding tuf/, or one subdirectory that does', async () => {
    await layout(join(work, 'direct'));
    const direct = await openMedium(join(work, 'direct'));
    assert.equal((await direct.readFile('tuf/targets.json', 100)).toString(), 'targets');
    await layout(join(work, 'usb/offline-update'));
    const nested = await openMedium(join(work, 'usb'));
    assert.equal(nested.localRoot, join(work, 'usb/offline-update'));
    assert.match(nested.description, /usb\/offline-update/);
    await layout(join(work, 'usb/second'));
    await assert.rejects(openMedium(join(work, 'usb')), /several bundles/);
    await mkdir(join(work, 'empty'));
    await assert.rejects(openMedium(join(work, 'empty')), MediumNotFoundError);
  });

  test('archives are recognised by their bytes, not their names', async () => {
    const tar = rawTar([{ name: 'tuf/targets.json', data: Buffer.from('from tar') }]);
    await writeFile(join(work, 'bundle.zip'), tar);
    const medium = await openMedium(join(work, 'bundle.zip'));
    assert.match(medium.description, /^tar archive/);
    assert.equal((await medium.readFile('tuf/targets.json', 100)).toString(), 'from tar');
    await medium.close();

    await layout(join(work, 'ziptree'));
    execFileSync('python3', ['-c', 'import shutil,sys; shutil.make_archive(sys.argv[1], "zip", sys.argv[2])', join(work, 'named'), join(work, 'ziptree')]);
    await rm(join(work, 'ziptree'), { recursive: true });
    execFileSync('mv', [join(work, 'named.zip'), join(work, 'named.tar')]);
    const zip = await openMedium(join(work, 'named.tar'));
    assert.match(zip.description, /^zip archive/);
    assert.equal((await zip.readFile('tuf/targets.json', 100)).toString(), 'targets');
    await zip.close();
  });

  test('refuses gzip, unknown files, archives without tuf/ and missing paths', async () => {
    await writeFile(join(work, 'bundle.tar.gz'), gzipSync(rawTar([{ name: 'tuf/x', data: Buffer.from('x') }])));
    await assert.rejects(openMedium(join(work, 'bundle.tar.gz')), /compressed tar/);
    await writeFile(join(work, 'notes.txt'), 'hello');
    await assert.rejects(openMedium(join(work, 'notes.txt')), MediumNotFoundError);
    await writeFile(join(work, 'other.tar'), rawTar([{ name: 'docs/readme', data: Buffer.from('x') }]));
    await assert.rejects(openMedium(join(work, 'other.tar')), /no 'tuf\/' directory/);
    await assert.rejects(openMedium(join(work, 'absent')), MediumNotFoundError);
  });
});

describe('findMediaOnRemovableDrives', () => {
  test('finds the one bundle among the mount roots, refuses none or several', async () => {
    const stickA = join(work, 'stick-a');
    const stickB = join(work, 'stick-b');
    await mkdir(join(stickA, 'photos'), { recursive: true });
    await mkdir(stickB, { recursive: true });
    await writeFile(join(stickB, 'notes.txt'), 'not a bundle');
    await assert.rejects(findMediaOnRemovableDrives({ mountRoots: [stickA, stickB] }), /no update bundle found/);
    await assert.rejects(findMediaOnRemovableDrives({ mountRoots: [] }), /no removable drive/);
    await writeFile(join(stickB, 'update.bin'), rawTar([{ name: 'tuf/x', data: Buffer.from('x') }]));
    assert.equal(await findMediaOnRemovableDrives({ mountRoots: [stickA, stickB] }), join(stickB, 'update.bin'));
    await layout(join(stickA, 'offline-update'));
    await assert.rejects(findMediaOnRemovableDrives({ mountRoots: [stickA, stickB] }), /several update bundles/);
    await rm(join(stickB, 'update.bin'));
    assert.equal(await findMediaOnRemovableDrives({ mountRoots: [stickA, stickB] }), join(stickA, 'offline-update'));
  });
});
