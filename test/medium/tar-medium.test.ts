import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InvalidMetadataError, MetadataNotFoundError, UnsafePathError } from '../../lib/errors.js';
import { FileTooLargeError } from '../../lib/errors.js';
import { TarMedium } from '../../lib/medium/tar-medium.js';
import { paxEntry, rawTar, type RawTarEntry } from './raw-tar.js';

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'tar-medium-'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

async function archive(name: string, entries: RawTarEntry[], options?: { trailer?: boolean }): Promise<string> {
  const path = join(work, name);
  await writeFile(path, rawTar(entries, options));
  return path;
}

async function streamText(medium: TarMedium, path: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await medium.open(path)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

describe('TarMedium reads archives written by real tools', () => {
  test('GNU tar (PAX, long names): every file byte-identical, directories listed', async () => {
    const tree = join(work, 'tree');
    const longDirectory = `apps/${'d'.repeat(120)}/${'e'.repeat(90)}`;
    await mkdir(join(tree, 'tuf'), { recursive: true });
    await mkdir(join(tree, longDirectory), { recursive: true });
    await writeFile(join(tree, 'tuf/targets.json'), '{"signed":{}}');
    await writeFile(join(tree, longDirectory, `${'f'.repeat(150)}.json`), 'long name content');
    await writeFile(join(tree, 'tuf/empty'), '');
    const path = join(work, 'gnu.tar');
    execFileSync('tar', ['--format=pax', '-cf', path, '-C', tree, 'tuf', 'apps']);
    const medium = await TarMedium.open(path);
    try {
      assert.equal((await medium.readFile('tuf/targets.json', 1024)).toString(), '{"signed":{}}');
      assert.equal(await streamText(medium, `${longDirectory}/${'f'.repeat(150)}.json`), 'long name content');
      assert.equal(await streamText(medium, 'tuf/empty'), '');
      assert.deepEqual(await medium.list('tuf'), ['empty', 'targets.json']);
      assert.deepEqual(await medium.list(''), ['apps', 'tuf']);
      assert.deepEqual(await medium.stat('tuf'), { path: 'tuf', type: 'directory', size: 0 });
      assert.equal(await medium.stat('tuf/none'), undefined);
      await assert.rejects(medium.readFile('tuf/targets.json', 5), FileTooLargeError);
      await assert.rejects(medium.open('tuf/none'), MetadataNotFoundError);
      await assert.rejects(medium.open('tuf'), UnsafePathError);
      await assert.rejects(medium.open('../tuf/targets.json'), UnsafePathError);
    } finally {
      await medium.close();
    }
  });

  test('concurrent ranged streams of one archive do not mix', async () => {
    const path = await archive('many.tar', Array.from({ length: 20 }, (_, index) => ({ name: `tuf/f${index}`, data: Buffer.alloc(70_000 + index, index) })));
    const medium = await TarMedium.open(path);
    try {
      const contents = await Promise.all(Array.from({ length: 20 }, async (_, index) => {
        const chunks: Buffer[] = [];
        for await (const chunk of await medium.open(`tuf/f${index}`)) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks);
      }));
      contents.forEach((content, index) => assert.ok(content.equals(Buffer.alloc(70_000 + index, index)), `tuf/f${index}`));
    } finally {
      await medium.close();
    }
  });

  test('a symbolic link and a FIFO made by GNU tar refuse the whole archive', async () => {
    const tree = join(work, 'links');
    await mkdir(join(tree, 'tuf'), { recursive: true });
    await symlink('/etc/passwd', join(tree, 'tuf/root.json'));
    execFileSync('tar', ['-cf', join(work, 'symlink.tar'), '-C', tree, 'tuf']);
    await assert.rejects(TarMedium.open(join(work, 'symlink.tar')), /tuf\/root\.json'\) is a symbolic link/);
    await rm(join(tree, 'tuf/root.json'));
    execFileSync('mkfifo', [join(tree, 'tuf/pipe')]);
    execFileSync('tar', ['-cf', join(work, 'fifo.tar'), '-C', tree, 'tuf']);
    await assert.rejects(TarMedium.open(join(work, 'fifo.tar')), /is a FIFO/);
  });
});

describe('TarMedium refuses hostile archives when opening them', () => {
  const ok = { name: 'tuf/ok.json', data: Buffer.from('{}') };
  const cases: Array<[string, RawTarEntry[], RegExp]> = [
    ['a name climbing out with ..', [ok, { name: 'tuf/../../etc/passwd', data: Buffer.from('x') }], /climbs out/],
    ['an absolute name', [{ name: '/etc/passwd', data: Buffer.from('x') }], /absolute/],
    ['a backslash name', [{ name: 'tuf\\..\\x', data: Buffer.from('x') }], /backslashes/],
    ['a PAX path climbing out', [paxEntry({ path: '../outside' }), { name: 'innocent', data: Buffer.from('x') }], /climbs out/],
    ['a GNU long name climbing out', [{ name: '././@LongLink', type: 'L', data: Buffer.from('../../x\0') }, { name: 'innocent', data: Buffer.from('x') }], /climbs out/],
    ['a hard link pointing out', [ok, { name: 'tuf/passwd', type: '1', linkName: '/etc/passwd' }], /hard link/],
    ['a symbolic link pointing out', [{ name: 'tuf/root.json', type: '2', linkName: '../../../etc/shadow' }], /symbolic link/],
    ['a character device', [{ name: 'tuf/null', type: '3' }], /character device/],
    ['a block device', [{ name: 'tuf/sda', type: '4' }], /block device/],
    ['a FIFO', [{ name: 'tuf/pipe', type: '6' }], /FIFO/],
    ['a GNU sparse file', [{ name: 'tuf/sparse', type: 'S', data: Buffer.from('x') }], /sparse/],
    ['a PAX sparse file', [paxEntry({ 'GNU.sparse.major': '1', 'GNU.sparse.minor': '0' }), { name: 'tuf/s', data: Buffer.from('x') }], /sparse/],
    ['a PAX size of 10 GB on a small file', [paxEntry({ size: String(10 * 1024 ** 3) }), { name: 'tuf/targets.json', data: Buffer.from('{}') }], /past the end/],
    ['a header size past the end of the file', [{ name: 'tuf/targets.json', data: Buffer.from('{}'), headerSize: 5_000_000 }], /past the end/],
    ['a duplicate name', [ok, ok], /more than once/],
    ['a name that is a file and a directory', [ok, { name: 'tuf/ok.json/x', data: Buffer.from('x') }], /both a file and a directory/],
    ['a global PAX header renaming entries', [{ ...paxEntry({ path: 'tuf/x' }), type: 'g' }, ok], /global PAX/],
    ['an unknown entry type', [{ name: 'tuf/v', type: 'V' }], /unsupported type/],
  ];
  for (const [what, entries, message] of cases) {
    test(what, async () => {
      const path = await archive(`${what.replace(/\W+/g, '-')}.tar`, entries);
      await assert.rejects(TarMedium.open(path), (error: Error) => {
        assert.ok(error instanceof UnsafePathError, `${error.name}: ${error.message}`);
        assert.match(error.message, message);
        return true;
      });
    });
  }

  test('a corrupted header checksum or a truncated archive is invalid, not half-read', async () => {
    const good = rawTar([{ name: 'tuf/a', data: Buffer.from('abc') }]);
    const corrupted = Buffer.from(good);
    corrupted[10] = 0x41;
    await writeFile(join(work, 'checksum.tar'), corrupted);
    await assert.rejects(TarMedium.open(join(work, 'checksum.tar')), InvalidMetadataError);
    await writeFile(join(work, 'truncated.tar'), good.subarray(0, 700));
    await assert.rejects(TarMedium.open(join(work, 'truncated.tar')), InvalidMetadataError);
  });

  test('nothing is written anywhere while refusing', async () => {
    const before = (await readdir(work)).sort();
    const path = await archive('outside.tar', [{ name: '../escaped', data: Buffer.from('x') }]);
    await assert.rejects(TarMedium.open(path), UnsafePathError);
    assert.deepEqual((await readdir(work)).sort(), [...before, 'outside.tar'].sort());
  });
});
