import assert from 'node:assert/strict';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { before, describe, test } from 'node:test';
import { FileTooLargeError, UnsafePathError } from '../../lib/errors.js';
import { exitCodeForError } from '../../lib/exit-codes.js';
import { DirectoryMedium } from '../../lib/medium/directory-medium.js';
import { safeRelativePath } from '../../lib/medium/safe-path.js';

describe('directory medium', () => {
  let root: string;
  let outside: string;
  before(async () => {
    const base = await mkdtemp(join(tmpdir(), 'fioup-dirmedium-'));
    root = join(base, 'medium');
    outside = join(base, 'secret.txt');
    await mkdir(join(root, 'tuf'), { recursive: true });
    await writeFile(join(root, 'tuf', 'timestamp.json'), '{"signed":{}}');
    await writeFile(outside, 'do not read');
    await symlink(outside, join(root, 'tuf', 'link.json'));
    await symlink(join(base), join(root, 'escape'));
  });

  test('reads, streams, stats and lists files below its root', async () => {
    const medium = new DirectoryMedium(root);
    assert.equal((await medium.readFile('tuf/timestamp.json', 1024)).toString(), '{"signed":{}}');
    assert.equal(await text(await medium.open('./tuf/timestamp.json')), '{"signed":{}}');
    assert.deepEqual(await medium.stat('tuf/timestamp.json'), { path: 'tuf/timestamp.json', type: 'file', size: 13 });
    assert.equal(await medium.stat('tuf/absent.json'), undefined);
    assert.deepEqual(await medium.list('tuf'), ['link.json', 'timestamp.json']);
    await assert.rejects(medium.readFile('tuf/timestamp.json', 12), FileTooLargeError);
  });

  test('refuses links, absolute paths and climbing out, with exit code 11', async () => {
    const medium = new DirectoryMedium(root);
    for (const path of ['tuf/link.json', 'escape/secret.txt', '../secret.txt', '/etc/passwd', 'tuf/../../secret.txt', 'tuf\\x', 'a\u0000b']) {
      await assert.rejects(medium.readFile(path, 1024), (error) => error instanceof UnsafePathError && exitCodeForError(error) === 11, path);
    }
  });

  test('normalises harmless paths', () => {
    assert.equal(safeRelativePath('./tuf/./root.json'), 'tuf/root.json');
    assert.equal(safeRelativePath('apps/'), 'apps');
    assert.throws(() => safeRelativePath('a//b'), UnsafePathError);
  });
});
