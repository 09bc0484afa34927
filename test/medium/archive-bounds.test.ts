import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sampleApps } from '../../fixtures/apps/index.js';
import { writeDeviceConfig } from '../../fixtures/device/sota-toml.js';
import { buildFactory, scenarios, type FactoryBuild } from '../../fixtures/factory.js';
import { damageZipEntry, writeCrowdedTar, writeCrowdedZip } from '../../fixtures/hostile.js';
import { preflight } from '../../lib/bundle/preflight.js';
import type { SourceFile } from '../../lib/bundle/source.js';
import { ContentVerificationError, InvalidMetadataError, UsageError } from '../../lib/errors.js';
import { ExitCode } from '../../lib/exit-codes.js';
import { MAX_ARCHIVE_ENTRIES } from '../../lib/medium/archive-index.js';
import { TarMedium } from '../../lib/medium/tar-medium.js';
import { ZipMedium } from '../../lib/medium/zip-medium.js';
import { runCli } from '../helpers/cli.js';

/**
 * Archives are bounded before they are trusted (issue 17, item 4): more entries than a bundle may hold are refused
 * (15) with the archive named, a zip's from its end record before its central directory is read; a zip entry whose
 * local header, CRC-32 or deflate stream is damaged is a content error (70) naming the entry, not exit 1.
 */

let work: string;
let factory: FactoryBuild;
let config: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'archive-bounds-'));
  factory = await buildFactory(join(work, 'factory'), scenarios.basic({
    seed: 'archive-bounds',
    targets: [{ hardwareIds: ['amd64-linux'], version: 1, apps: [sampleApps.tiny('bounds', 1)] }],
  }));
  config = await writeDeviceConfig(join(work, 'device'), factory);
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

const check = (medium: string) => runCli(['check', '--config', config, '--src-dir', medium]);

const zipOfMedium = (path: string, extra: number, method: 'stored' | 'deflated' = 'stored') => writeCrowdedZip(path, factory.dirs.medium, extra, method);

describe('entry counts', () => {
  test(`a tar of more than ${MAX_ARCHIVE_ENTRIES} entries is refused (15), the archive named; the same tar within the limit is read`, async () => {
    const crowded = join(work, 'crowded.tar');
    await writeCrowdedTar(crowded, factory.dirs.medium, MAX_ARCHIVE_ENTRIES);
    await assert.rejects(TarMedium.open(crowded), (error: Error) =>
      error instanceof InvalidMetadataError && error.message === `tar archive ${crowded}: more than the ${MAX_ARCHIVE_ENTRIES} entries a bundle may hold: not a bundle`);
    const result = await check(crowded);
    assert.equal(result.code, ExitCode.invalidMetadata, result.stderr);
    assert.match(result.stderr, new RegExp(`tar archive ${crowded}: more than the ${MAX_ARCHIVE_ENTRIES} entries`));
    await rm(crowded);
    const fits = join(work, 'fits.tar');
    await writeCrowdedTar(fits, factory.dirs.medium, 100_000);
    assert.equal((await check(fits)).code, ExitCode.updateAvailable, 'a tar of many entries within the limit is a bundle like any other');
    await rm(fits);
  });

  test('a zip whose end record declares too many entries is refused before its central directory is read (plain and zip64 records)', async () => {
    const plain = join(work, 'declares.zip');
    zipOfMedium(plain, 0);
    const bytes = await readFile(plain);
    const end = bytes.lastIndexOf(Buffer.from('PK\x05\x06', 'latin1'));
    // The count is 16 bits in the plain record: 0xffff defers to a zip64 record this archive lacks, so a count the
    // plain record can hold, over what the central directory really lists, shows the directory was never read.
    bytes.writeUInt16LE(0xfffe, end + 8);
    bytes.writeUInt16LE(0xfffe, end + 10);
    await writeFile(plain, bytes);
    assert.ok(0xfffe < MAX_ARCHIVE_ENTRIES);
    await assert.rejects(ZipMedium.open(plain), InvalidMetadataError, 'a count the archive does not hold fails in the zip reader, not ours');

    const wide = join(work, 'zip64.zip');
    zipOfMedium(wide, 0x10000);
    const zip64 = await readFile(wide);
    const record = zip64.lastIndexOf(Buffer.from('PK\x06\x06', 'latin1'));
    assert.ok(record > 0, 'Python wrote a zip64 end record for 65,536 entries and more');
    zip64.writeBigUInt64LE(600_000n, record + 24);
    zip64.writeBigUInt64LE(600_000n, record + 32);
    await writeFile(wide, zip64);
    await assert.rejects(ZipMedium.open(wide), (error: Error) =>
      error instanceof InvalidMetadataError && error.message === `zip archive ${wide}: 600000 entries, more than the ${MAX_ARCHIVE_ENTRIES} entries a bundle may hold: not a bundle`);
    const result = await check(wide);
    assert.equal(result.code, ExitCode.invalidMetadata, result.stderr);
  });

  test('bundle-create refuses a tar or zip bundle a device would refuse for its entries, before writing it', async () => {
    const files: SourceFile[] = Array.from({ length: MAX_ARCHIVE_ENTRIES }, (_, index) => ({ path: `ostree_repo/objects/${index}.file`, localPath: '/nonexistent', size: 0 }));
    for (const format of ['tar', 'zip'] as const) {
      const destination = join(work, `huge.${format}`);
      await assert.rejects(preflight(destination, format, files, false), (error: Error) =>
        error instanceof UsageError && error.message === `a ${format} bundle of the download would hold ${MAX_ARCHIVE_ENTRIES + 3} entries, more than the ${MAX_ARCHIVE_ENTRIES} a device reads from an archive: use --format dir`);
    }
    await preflight(join(work, 'huge'), 'dir', files, false);
  });
});

describe('damaged zip entries', () => {
  const cases = [
    { name: 'a CRC-32 that does not match', damage: 'crc', method: 'stored', pattern: /is damaged in the archive \(Invalid CRC\)/ },
    { name: 'a local header that is not one', damage: 'local-header', method: 'stored', pattern: /is damaged in the archive \(Invalid local header\)/ },
    { name: 'a broken deflate stream', damage: 'deflate', method: 'deflated', pattern: /is damaged in the archive \(/ },
  ] as const;
  for (const { name, damage, method, pattern } of cases) {
    test(`${name}: the read fails as a content error (70) naming the entry; check exits 70`, async () => {
      const archive = join(work, `damaged-${damage}.zip`);
      zipOfMedium(archive, 0, method);
      await damageZipEntry(archive, 'tuf/timestamp.json', damage);
      const medium = await ZipMedium.open(archive);
      try {
        await assert.rejects(medium.readFile('tuf/timestamp.json', 1 << 20), (error: Error) =>
          error instanceof ContentVerificationError && error.message.startsWith(`zip archive ${archive}: 'tuf/timestamp.json' is damaged in the archive (`) && pattern.test(error.message));
      } finally {
        await medium.close();
      }
      const result = await check(archive);
      assert.equal(result.code, ExitCode.contentVerification, result.stderr);
      assert.match(result.stderr, /'tuf\/timestamp\.json' is damaged in the archive/);
    });
  }
});
