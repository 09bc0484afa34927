import assert from 'node:assert/strict';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { deeplyNestedJson, padTargets } from '../../fixtures/hostile.js';
import { InvalidMetadataError, MetadataMismatchError, UnsignedMetadataError } from '../../lib/errors.js';
import { ExitCode } from '../../lib/exit-codes.js';
import { DirectoryMedium } from '../../lib/medium/directory-medium.js';
import { parseTargets } from '../../lib/tuf/dialect.js';
import { metadataSizeLimits } from '../../lib/tuf/medium-source.js';
import { verifyMedium } from '../../lib/tuf/verify-medium.js';
import { buildRepo, device, referenceNow, rejectsWith, Workspace, type BuiltRepo } from './helpers.js';

/**
 * Unsigned metadata is bounded before it is trusted (issue 17, item 4): a file is refused at another length than the
 * trusted role before it names, before it is read; an unsigned targets.json costs a scan of its bytes, never the
 * building of its targets; what is read whole has a size limit per role; JSON nested past any real document is
 * refused (15) with the file named, whichever file it is.
 */

const workspace = new Workspace();
after(() => workspace.cleanUp());

/** A directory medium that records which files it gave the bytes of. */
class RecordingMedium extends DirectoryMedium {
  readonly read: string[] = [];

  override async readFile(path: string, maxBytes: number): Promise<Buffer> {
    const bytes = await super.readFile(path, maxBytes);
    this.read.push(path);
    return bytes;
  }
}

async function verifyRecording(repo: BuiltRepo): Promise<{ result: Promise<unknown>; medium: RecordingMedium }> {
  const medium = new RecordingMedium(repo.mediumDir);
  return { result: verifyMedium(medium, await repo.trustStore.load(), device, referenceNow), medium };
}

describe('metadata is bounded by what the trusted role before it says', () => {
  test('a targets.json of another length than the snapshot names is refused (11) without a byte of it read', async () => {
    const repo = await buildRepo(workspace, 'targets-length');
    const named = (await readFile(join(repo.mediumDir, 'tuf/targets.json'))).length;
    await padTargets(join(repo.mediumDir, 'tuf'), 1 << 20);
    const { result, medium } = await verifyRecording(repo);
    await rejectsWith(result, MetadataMismatchError, ExitCode.security, new RegExp(`tuf/targets\\.json: is \\d+ bytes, but .*tuf/snapshot\\.json says ${named}$`));
    assert.ok(medium.read.includes('tuf/snapshot.json') && !medium.read.includes('tuf/targets.json'), medium.read.join(' '));
  });

  test('a snapshot.json of another length than the timestamp names is refused (11) without a byte of it read', async () => {
    const repo = await buildRepo(workspace, 'snapshot-length');
    await appendFile(join(repo.mediumDir, 'tuf/snapshot.json'), ' '.repeat(4096));
    const { result, medium } = await verifyRecording(repo);
    await rejectsWith(result, MetadataMismatchError, ExitCode.security, /tuf\/snapshot\.json: is \d+ bytes, but .*tuf\/timestamp\.json says \d+$/);
    assert.ok(medium.read.includes('tuf/timestamp.json') && !medium.read.includes('tuf/snapshot.json'), medium.read.join(' '));
  });

  test('with a snapshot that names its version only, an unsigned targets.json is refused for its signatures before any target of it is built', async () => {
    const repo = await buildRepo(workspace, 'targets-unsigned', { snapshotDescribesTargets: 'version' });
    await padTargets(join(repo.mediumDir, 'tuf'), 4 << 20, { malformed: true });
    const bytes = await readFile(join(repo.mediumDir, 'tuf/targets.json'));
    // Built, its junk targets are refused for their shape...
    assert.throws(() => parseTargets(bytes, 'targets.json'), (error: Error) => error instanceof InvalidMetadataError && /\.length must be a non-negative integer/.test(error.message));
    // ...but the device never builds them: the signatures fail first.
    const { result } = await verifyRecording(repo);
    await rejectsWith(result, UnsignedMetadataError, ExitCode.security, /tuf\/targets\.json: 0 valid signature\(s\) from the targets keys/);
  });

  test('a signed targets.json read through the envelope gives the same targets as one read in full', async () => {
    const repo = await buildRepo(workspace, 'targets-signed', { snapshotDescribesTargets: 'version' });
    const { result } = await verifyRecording(repo);
    const verified = (await result) as Awaited<ReturnType<typeof verifyMedium>>;
    const full = parseTargets(await readFile(join(repo.mediumDir, 'tuf/targets.json')), 'targets.json');
    assert.deepEqual([...verified.targets.fields.targets.keys()], [...full.fields.targets.keys()]);
    for (const [name, target] of full.fields.targets) assert.deepEqual(verified.targets.fields.targets.get(name)!.custom, target.custom, name);
  });
});

describe('metadata read whole is bounded in size', () => {
  test('a targets.json not spelled canonically is read in full only up to 16 MiB (15, the file named)', async () => {
    const repo = await buildRepo(workspace, 'targets-spelling', { snapshotDescribesTargets: 'version' });
    await padTargets(join(repo.mediumDir, 'tuf'), 17 << 20, { canonical: false });
    const { result } = await verifyRecording(repo);
    await rejectsWith(result, InvalidMetadataError, ExitCode.invalidMetadata, /tuf\/targets\.json: is \d+ bytes of JSON not spelled canonically \(as fioctl writes metadata\), more than the 16777216 read/);
  });

  test('each role over its limit is refused (15) before it is read: timestamp 64 KiB, bundle-targets 4 MiB', async () => {
    for (const [file, limit] of [['timestamp.json', metadataSizeLimits.timestamp], ['bundle-targets.json', metadataSizeLimits.bundleTargets]] as const) {
      const repo = await buildRepo(workspace, `over-${file}`);
      await appendFile(join(repo.mediumDir, 'tuf', file), ' '.repeat(limit));
      const { result, medium } = await verifyRecording(repo);
      await rejectsWith(result, InvalidMetadataError, ExitCode.invalidMetadata, new RegExp(`tuf/${file.replace('.', '\\.')}: is \\d+ bytes, more than the ${limit} allowed`));
      assert.ok(!medium.read.includes(`tuf/${file}`), file);
    }
  });

  test('JSON nested 32,000 deep is refused (15) with the file named, whichever metadata file it is', async () => {
    const nested = deeplyNestedJson(32_000);
    for (const file of ['4.root.json', 'bundle-targets.json', 'timestamp.json', 'targets.json']) {
      const repo = await buildRepo(workspace, `nested-${file}`, { snapshotDescribesTargets: 'version' });
      await writeFile(join(repo.mediumDir, 'tuf', file), nested);
      const { result } = await verifyRecording(repo);
      // bundle-targets.json's faults are BundleMetadataError, 15 all the same.
      await rejectsWith(result, Error, ExitCode.invalidMetadata, new RegExp(`tuf/${file.replace(/\./g, '\\.')}: invalid JSON at byte 256: nested more than 256 deep`));
    }
  });
});
