import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ContentVerificationError, InvalidMetadataError, UnsafePathError } from '../../lib/errors.js';
import { FileTooLargeError } from '../../lib/errors.js';
import { ZipMedium } from '../../lib/medium/zip-medium.js';

let work: string;
after(async () => {
  await rm(work, { recursive: true, force: true });
});

type ZipSpec = Array<[string, string, { deflate?: boolean; mode?: number }?]>;

/**
 * Writes zips with Python's zipfile (an independent writer), all in one run (Python starts slowly). Each entry:
 * [name, content, options] where options may set `deflate` and a Unix `mode` (high 16 bits of the external
 * attributes, as Info-ZIP stores them).
 */
function pythonZips(archives: Record<string, ZipSpec>): void {
  const script = `
import json, sys, zipfile, warnings
warnings.simplefilter('ignore')
for path, entries in json.load(sys.stdin).items():
    with zipfile.ZipFile(path, 'w') as archive:
        for name, content, options in entries:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.compress_type = zipfile.ZIP_DEFLATED if options.get('deflate') else zipfile.ZIP_STORED
            if 'mode' in options:
                info.external_attr = options['mode'] << 16
            archive.writestr(info, content)
`;
  const input = Object.fromEntries(Object.entries(archives).map(([name, entries]) => [join(work, name), entries.map(([entry, content, options]) => [entry, content, options ?? {}])]));
  execFileSync('python3', ['-c', script], { input: JSON.stringify(input) });
}

const hostile: Array<[string, ZipSpec, RegExp]> = [
  ['zip-slip ../ name', [['tuf/ok', 'x'], ['../../evil.sh', 'x']], /climbs out/],
  ['nested zip-slip name', [['tuf/../../../etc/cron.d/x', 'x']], /climbs out/],
  ['absolute name', [['/etc/passwd', 'x']], /absolute/],
  ['backslash name', [['..\\..\\evil', 'x']], /backslashes/],
  ['symbolic link entry', [['tuf/root.json', '/etc/passwd', { mode: 0o120777 }]], /symbolic link/],
  ['character device entry', [['tuf/null', '', { mode: 0o020666 }]], /not a regular file/],
  ['duplicate names', [['tuf/a', 'one'], ['tuf/a', 'two']], /more than once/],
];
const fileName = (what: string) => `${what.replace(/\W+/g, '-')}.zip`;
const big = 'x'.repeat(300_000);

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'zip-medium-'));
  pythonZips({
    'good.zip': [
      ['tuf/targets.json', '{"signed":{}}'],
      ['apps/blobs/sha256/aa', big, { deflate: true }],
      ['apps/empty', ''],
      ['ostree_repo/', '', { mode: 0o040755 }],
    ],
    'bomb.zip': [['tuf/targets.json', '\0'.repeat(4_000_000), { deflate: true }]],
    ...Object.fromEntries(hostile.map(([what, entries]) => [fileName(what), entries])),
  });
});

async function streamBytes(medium: ZipMedium, path: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await medium.open(path)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('ZipMedium', () => {
  test('reads stored and deflated entries written by Python, with implied directories', async () => {
    const path = join(work, 'good.zip');
    const medium = await ZipMedium.open(path);
    try {
      assert.equal((await medium.readFile('tuf/targets.json', 100)).toString(), '{"signed":{}}');
      assert.equal((await streamBytes(medium, 'apps/blobs/sha256/aa')).toString(), big);
      assert.equal((await streamBytes(medium, 'apps/empty')).length, 0);
      assert.deepEqual(await medium.list(''), ['apps', 'ostree_repo', 'tuf']);
      assert.deepEqual(await medium.list('apps/blobs'), ['sha256']);
      assert.equal((await medium.stat('ostree_repo'))?.type, 'directory');
      assert.deepEqual(await medium.stat('apps/blobs/sha256/aa'), { path: 'apps/blobs/sha256/aa', type: 'file', size: 300_000 });
      await assert.rejects(medium.readFile('apps/blobs/sha256/aa', 1000), FileTooLargeError);
    } finally {
      await medium.close();
    }
  });

  for (const [what, , message] of hostile) {
    test(`refuses an archive with a ${what}`, async () => {
      const path = join(work, fileName(what));
      await assert.rejects(ZipMedium.open(path), (error: Error) => {
        assert.ok(error instanceof UnsafePathError, `${error.name}: ${error.message}`);
        assert.match(error.message, message);
        return true;
      });
    });
  }

  test('a zip bomb stops at its declared size', async () => {
    const path = join(work, 'bomb.zip');
    const bytes = await readFile(path);
    // Rewrite the declared uncompressed size (local header and central directory) to 1000 bytes.
    const local = bytes.indexOf(Buffer.from([0x50, 0x4b, 0x03, 0x04]));
    const central = bytes.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    bytes.writeUInt32LE(1000, local + 22);
    bytes.writeUInt32LE(1000, central + 24);
    await writeFile(path, bytes);
    const medium = await ZipMedium.open(path);
    try {
      assert.equal((await medium.stat('tuf/targets.json'))?.size, 1000);
      await assert.rejects(medium.readFile('tuf/targets.json', 10_000_000), (error: Error) => {
        assert.ok(error instanceof ContentVerificationError || /Invalid (size|CRC)/.test(error.message), `${error.name}: ${error.message}`);
        return true;
      });
      let seen = 0;
      await assert.rejects(async () => {
        for await (const chunk of await medium.open('tuf/targets.json')) seen += (chunk as Buffer).length;
      });
      assert.ok(seen <= 1000, `${seen} bytes came out of a 1000-byte entry`);
    } finally {
      await medium.close();
    }
  });

  test('a file that is not a zip is invalid metadata', async () => {
    await writeFile(join(work, 'garbage.zip'), Buffer.from('PK\x03\x04 not really a zip archive at all'));
    await assert.rejects(ZipMedium.open(join(work, 'garbage.zip')), InvalidMetadataError);
  });
});
