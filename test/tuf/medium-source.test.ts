import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidMetadataError } from '../../lib/errors.js';
import { ExitCode } from '../../lib/exit-codes.js';
import { buildRepo, rejectsWith, verifyRepo, Workspace } from './helpers.js';

const workspace = new Workspace();
after(() => workspace.cleanUp());

async function withTimestamp(label: string, edit: (text: string) => string) {
  const repo = await buildRepo(workspace, label);
  const path = join(repo.mediumDir, 'tuf/timestamp.json');
  await writeFile(path, edit(await readFile(path, 'utf8')));
  return repo;
}

describe('malformed metadata on the medium (15)', () => {
  test('a truncated timestamp.json', async () => {
    const repo = await withTimestamp('truncated', (text) => text.slice(0, text.length / 2));
    await rejectsWith(verifyRepo(repo), InvalidMetadataError, ExitCode.invalidMetadata, /tuf\/timestamp\.json: invalid JSON/);
  });

  test('a version that is a string', async () => {
    const repo = await withTimestamp('types', (text) => {
      const document = JSON.parse(text);
      document.signed.version = String(document.signed.version);
      return JSON.stringify(document);
    });
    await rejectsWith(verifyRepo(repo), InvalidMetadataError, ExitCode.invalidMetadata, /timestamp\.json: version must be an integer/);
  });

  test('signatures that are not a list', async () => {
    const repo = await withTimestamp('sigs', (text) => JSON.stringify({ ...JSON.parse(text), signatures: {} }));
    await rejectsWith(verifyRepo(repo), InvalidMetadataError, ExitCode.invalidMetadata, /signatures must be an array/);
  });

  test('a duplicate key inside signed (a second, unsigned "version")', async () => {
    const repo = await withTimestamp('duplicate', (text) => text.replace('"version":', '"version": 99999, "version":'));
    await rejectsWith(verifyRepo(repo), InvalidMetadataError, ExitCode.invalidMetadata, /timestamp\.json: .*duplicate key "version"/);
  });

  test('a fractional number in signed cannot have been signed', async () => {
    const repo = await withTimestamp('float', (text) => {
      const document = JSON.parse(text);
      document.signed.extra = 1.5;
      return JSON.stringify(document);
    });
    await rejectsWith(verifyRepo(repo), InvalidMetadataError, ExitCode.invalidMetadata, /only integers/);
  });

  test('metadata of the wrong role in a file', async () => {
    const repo = await buildRepo(workspace, 'wrong-role');
    await writeFile(join(repo.mediumDir, 'tuf/timestamp.json'), await readFile(join(repo.mediumDir, 'tuf/snapshot.json')));
    await rejectsWith(verifyRepo(repo), InvalidMetadataError, ExitCode.invalidMetadata, /holds snapshot metadata where timestamp metadata was expected/);
  });

  test('a 100 MB timestamp.json is refused by its size, without reading it', async () => {
    const repo = await buildRepo(workspace, 'huge');
    const path = join(repo.mediumDir, 'tuf/timestamp.json');
    const handle = await open(path, 'w');
    await handle.truncate(100 * 1024 * 1024); // sparse: reading it all would take memory and time
    await handle.close();
    const before = process.memoryUsage().rss;
    await rejectsWith(verifyRepo(repo), InvalidMetadataError, ExitCode.invalidMetadata, /timestamp\.json: is 104857600 bytes, more than the 65536 allowed/);
    assert.ok(process.memoryUsage().rss - before < 50 * 1024 * 1024);
  });
});
