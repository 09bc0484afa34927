import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { writeFileAtomic, writeJsonAtomic } from '../../lib/fs/atomic.js';

describe('atomic writes', () => {
  test('replace the whole file and leave no temporary file behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fioup-atomic-'));
    const path = join(dir, 'nested', 'state.json');
    await writeJsonAtomic(path, { version: 1 });
    await writeFileAtomic(path, 'second');
    assert.equal(await readFile(path, 'utf8'), 'second');
    assert.deepEqual(await readdir(join(dir, 'nested')), ['state.json']);
  });

  test('a failed write keeps the previous content', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fioup-atomic-'));
    const path = join(dir, 'state.json');
    await writeFile(path, 'previous');
    const failing = { [Symbol.asyncIterator]: async function* () { yield 'partial'; throw new Error('power cut'); } };
    await assert.rejects(writeFileAtomic(path, failing as unknown as string), /power cut/);
    assert.equal(await readFile(path, 'utf8'), 'previous');
    assert.deepEqual(await readdir(dir), ['state.json']);
  });
});
