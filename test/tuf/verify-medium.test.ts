import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BadVersionError, BundleMetadataError, BundleTypeMismatchError, ExpiredMetadataError, MetadataMismatchError, MetadataNotFoundError, RollbackError,
  UnsignedMetadataError,
} from '../../lib/errors.js';
import { ExitCode } from '../../lib/exit-codes.js';
import { buildRepo, referenceNow, rejectsWith, verifyRepo, Workspace } from './helpers.js';
import { DeviceTrustStore } from '../../lib/tuf/device-trust.js';
import { verifyMedium } from '../../lib/tuf/verify-medium.js';

const workspace = new Workspace();
after(() => workspace.cleanUp());

for (const dialect of ['ota-tuf', 'spec'] as const) {
  for (const keyType of ['ed25519', 'rsa'] as const) {
    describe(`${dialect} dialect, ${keyType} keys`, () => {
      test('a valid repository with root rotation over 3 versions verifies', async () => {
        const repo = await buildRepo(workspace, `ok-${dialect}-${keyType}`, { dialect, keyType, rootVersion: 5, rotations: { root: [3, 4, 5], timestamp: [4] } });
        const verified = await verifyRepo(repo);
        assert.equal(verified.root.fields.version, 5);
        assert.deepEqual(verified.newRoots.map((root) => root.fields.version), [3, 4, 5]);
        assert.equal(verified.targets.fields.targets.size, 2);
        assert.deepEqual(verified.bundleTargets?.fields.bundle.targets, ['amd64-linux-lmp-1', 'amd64-linux-lmp-2']);
        assert.equal(verified.usedStoredMetadata, false);
        assert.equal(verified.root.dialect, dialect === 'spec' ? 'tuf-spec' : 'ota-tuf');
      });

      for (const role of ['root', 'timestamp', 'snapshot', 'targets'] as const) {
        test(`a bad ${role} signature is a security error (11)`, async () => {
          const repo = await buildRepo(workspace, `badsig-${role}-${dialect}-${keyType}`, { dialect, keyType, defects: [`bad-signature:${role}`] });
          await rejectsWith(verifyRepo(repo), UnsignedMetadataError, ExitCode.security, new RegExp(role));
        });
      }

      test('a bad bundle-targets.json signature is invalid bundle metadata (15), as aklite-offline has it', async () => {
        const repo = await buildRepo(workspace, `badsig-bundle-${dialect}-${keyType}`, { dialect, keyType, defects: ['bad-signature:bundle'] });
        await rejectsWith(verifyRepo(repo), BundleMetadataError, ExitCode.invalidMetadata, /bundle-targets\.json/);
      });

      for (const role of ['root', 'timestamp', 'snapshot', 'targets', 'bundle'] as const) {
        test(`an expired ${role} is exit 12, and the message gives both times`, async () => {
          const repo = await buildRepo(workspace, `expired-${role}-${dialect}-${keyType}`, { dialect, keyType, defects: [`expired-${role}`] });
          await rejectsWith(verifyRepo(repo), ExpiredMetadataError, ExitCode.expired, /expired at 2025-01-01T00:00:00\.000Z.*clock says 2026-01-01T00:00:00\.000Z/);
        });
      }
    });
  }
}

describe('roles signed by rotated-out keys', () => {
  for (const role of ['timestamp', 'snapshot', 'targets'] as const) {
    test(`${role} signed by a key the newest root replaced is refused (11)`, async () => {
      const repo = await buildRepo(workspace, `rotated-${role}`, { defects: [`rotated-out-key:${role}`] });
      await rejectsWith(verifyRepo(repo), UnsignedMetadataError, ExitCode.security, new RegExp(role));
    });
  }

  test('bundle-targets.json signed by a key the newest root replaced is invalid bundle metadata (15)', async () => {
    const repo = await buildRepo(workspace, 'rotated-bundle', { defects: ['rotated-out-key:bundle'] });
    await rejectsWith(verifyRepo(repo), BundleMetadataError, ExitCode.invalidMetadata, /bundle-targets\.json: 0 valid signature/);
  });
});

describe('thresholds', () => {
  // timestamp.json: no other file pins its bytes, so its signatures can be edited.
  const timestampPath = (mediumDir: string) => join(mediumDir, 'tuf/timestamp.json');

  test('2-of-3 timestamp keys: passes with 2 valid signatures plus a bad one, fails with 1 valid and 2 bad', async () => {
    const repo = await buildRepo(workspace, 'threshold', { roles: { timestamp: { keys: 3, threshold: 2 } } });
    const original = JSON.parse(await readFile(timestampPath(repo.mediumDir), 'utf8'));
    assert.equal(original.signatures.length, 2);
    const root = JSON.parse(await readFile(join(repo.mediumDir, 'tuf/4.root.json'), 'utf8'));
    const thirdKey = root.signed.roles.timestamp.keyids.find((id: string) => !original.signatures.some((s: { keyid: string }) => s.keyid === id));
    const badThird = { ...flipSignature(original.signatures[0]), keyid: thirdKey };
    await writeFile(timestampPath(repo.mediumDir), JSON.stringify({ ...original, signatures: [...original.signatures, badThird] }));
    await verifyRepo(repo);

    await writeFile(timestampPath(repo.mediumDir), JSON.stringify({ ...original, signatures: [original.signatures[0], flipSignature(original.signatures[1]), badThird] }));
    await rejectsWith(verifyRepo(repo), UnsignedMetadataError, ExitCode.security, /timestamp\.json: 1 valid signature\(s\).*2 required/);
  });

  test('a key that signs twice counts once', async () => {
    const repo = await buildRepo(workspace, 'twice', { roles: { timestamp: { keys: 3, threshold: 2 } } });
    const original = JSON.parse(await readFile(timestampPath(repo.mediumDir), 'utf8'));
    await writeFile(timestampPath(repo.mediumDir), JSON.stringify({ ...original, signatures: [original.signatures[0], original.signatures[0]] }));
    await rejectsWith(verifyRepo(repo), UnsignedMetadataError, ExitCode.security, /1 valid signature/);
  });

  test('a signature with an unknown method does not count', async () => {
    const repo = await buildRepo(workspace, 'method');
    const original = JSON.parse(await readFile(timestampPath(repo.mediumDir), 'utf8'));
    await writeFile(timestampPath(repo.mediumDir), JSON.stringify({ ...original, signatures: [{ ...original.signatures[0], method: 'rsassa-pss-sha512' }] }));
    await rejectsWith(verifyRepo(repo), UnsignedMetadataError, ExitCode.security, /0 valid signature/);
  });
});

describe('versions and rollback', () => {
  test('a stale bundle (medium older than the device) falls back to the stored metadata with a warning', async () => {
    const repo = await buildRepo(workspace, 'rollback', { defects: ['rollback'] });
    const verified = await verifyRepo(repo);
    assert.equal(verified.usedStoredMetadata, true);
    assert.equal(verified.targets.fields.version, 6);
    assert.match(verified.targets.fileName, /storage\/tuf\/targets\.json$/);
    assert.equal(verified.timestamp, undefined);
    assert.match(verified.warnings.join('\n'), /older than this device's/);
  });

  for (const role of ['timestamp', 'snapshot'] as const) {
    test(`a ${role} older than the stored one, with no stored targets to fall back on, is a rollback (11)`, async () => {
      const repo = await buildRepo(workspace, `rollback-${role}`, { defects: ['rollback'] });
      const storage = join(repo.root, 'device/storage/tuf');
      await rm(join(storage, 'targets.json'));
      await rm(join(storage, role === 'timestamp' ? 'snapshot.json' : 'timestamp.json'));
      await rejectsWith(verifyRepo(repo), RollbackError, ExitCode.security, new RegExp(`${role}\\.json: version 5 is older than the version 6`));
    });
  }

  test('targets older than the stored ones fall back to the stored targets', async () => {
    const repo = await buildRepo(workspace, 'rollback-targets', { defects: ['rollback'] });
    const storage = join(repo.root, 'device/storage/tuf');
    await rm(join(storage, 'timestamp.json'));
    await rm(join(storage, 'snapshot.json'));
    const verified = await verifyRepo(repo);
    assert.equal(verified.usedStoredMetadata, true);
    assert.equal(verified.targets.fields.version, 6);
    assert.match(verified.warnings[0]!, /targets\.json: version 5 is older/);
  });

  test('a root with the wrong version is refused (11)', async () => {
    const repo = await buildRepo(workspace, 'root-version', { rootVersion: 4 });
    const tuf = join(repo.mediumDir, 'tuf');
    // Root 4 again as 5: correctly signed by root 4's keys, but it says version 4.
    await writeFile(join(tuf, '5.root.json'), await readFile(join(tuf, '4.root.json')));
    await rejectsWith(verifyRepo(repo), BadVersionError, ExitCode.security, /5\.root\.json: holds root version 4, expected 5/);
  });

  test('a root not signed by the previous root is refused (11)', async () => {
    const repo = await buildRepo(workspace, 'root-chain', { rootVersion: 4, rotations: { root: [3] } });
    const tuf = join(repo.mediumDir, 'tuf');
    await rm(join(tuf, '3.root.json'));
    await writeFile(join(tuf, '3.root.json'), await readFile(join(tuf, '4.root.json')));
    await rejectsWith(verifyRepo(repo), UnsignedMetadataError, ExitCode.security, /3\.root\.json: 0 valid signature/);
  });

  test('mix and match: a snapshot from another version does not match the timestamp (11)', async () => {
    const repo = await buildRepo(workspace, 'mix', { metadataVersion: 5 });
    const other = await buildRepo(workspace, 'mix', { metadataVersion: 6 });
    await writeFile(join(repo.mediumDir, 'tuf/snapshot.json'), await readFile(join(other.mediumDir, 'tuf/snapshot.json')));
    await rejectsWith(verifyRepo(repo), MetadataMismatchError, ExitCode.security, /snapshot\.json/);
  });

  test('mix and match: targets from another version do not match the snapshot (11)', async () => {
    const repo = await buildRepo(workspace, 'mix2', { metadataVersion: 5 });
    const other = await buildRepo(workspace, 'mix2', { metadataVersion: 6 });
    await writeFile(join(repo.mediumDir, 'tuf/targets.json'), await readFile(join(other.mediumDir, 'tuf/targets.json')));
    await rejectsWith(verifyRepo(repo), MetadataMismatchError, ExitCode.security, /targets\.json/);
  });
});

describe('bundle-targets.json', () => {
  test('a bundle for prod devices is refused by a ci device (15), taken by a device of unknown type', async () => {
    const repo = await buildRepo(workspace, 'prod-bundle', { bundle: { type: 'prod', tag: 'main', targets: [] } });
    await rejectsWith(verifyRepo(repo), BundleTypeMismatchError, ExitCode.invalidMetadata, /'prod' bundle.*'ci' device/);
    const trust = await new DeviceTrustStore({ rootsDir: join(repo.root, 'device/roots'), deviceType: undefined, storageDir: join(repo.root, 'device/storage') }).load();
    assert.deepEqual(trust.roots.map((root) => root.fileName.slice(-11)), ['1.root.json', '2.root.json'], 'an unregistered device trusts only the shared roots');
    const verified = await verifyMedium(repo.medium, trust, { deviceType: undefined, tags: ['main'] }, referenceNow);
    assert.equal(verified.bundleTargets?.fields.bundle.type, 'prod');
  });

  test('a bundle for another tag is refused (15)', async () => {
    const repo = await buildRepo(workspace, 'tag-bundle', { bundle: { type: 'ci', tag: 'devel', targets: [] } });
    await rejectsWith(verifyRepo(repo), BundleTypeMismatchError, ExitCode.invalidMetadata, /tag 'devel'/);
  });

  test('a bundle without a tag is refused by a device that follows tags (15), taken by one that follows none', async () => {
    const repo = await buildRepo(workspace, 'untagged-bundle', { bundle: { type: 'ci', targets: [] } });
    await rejectsWith(verifyRepo(repo), BundleTypeMismatchError, ExitCode.invalidMetadata, /is for no tag, and this device follows 'main'/);
    const verified = await verifyMedium(repo.medium, await repo.trustStore.load(), { deviceType: 'ci', tags: [] }, referenceNow);
    assert.equal(verified.bundleTargets?.fields.bundle.tag, undefined);
  });

  test('a missing bundle-targets.json is a warning', async () => {
    const repo = await buildRepo(workspace, 'no-bundle');
    await rm(join(repo.mediumDir, 'tuf/bundle-targets.json'));
    const verified = await verifyRepo(repo);
    assert.equal(verified.bundleTargets, undefined);
    assert.match(verified.warnings.join('\n'), /bundle-targets\.json not found/);
  });

  test('every signature must be valid, even beyond the threshold (11)', async () => {
    const repo = await buildRepo(workspace, 'bundle-extra');
    const path = join(repo.mediumDir, 'tuf/bundle-targets.json');
    const bundle = JSON.parse(await readFile(path, 'utf8'));
    bundle.signatures.push(flipSignature(bundle.signatures[0]));
    await writeFile(path, JSON.stringify(bundle));
    await rejectsWith(verifyRepo(repo), BundleMetadataError, ExitCode.invalidMetadata, /bundle-targets\.json.*not a valid targets signature/);
  });
});

describe('missing metadata', () => {
  for (const name of ['timestamp.json', 'snapshot.json', 'targets.json']) {
    test(`a missing ${name} is exit 14`, async () => {
      const repo = await buildRepo(workspace, `missing-${name}`);
        await rm(join(repo.mediumDir, 'tuf', name));
      await rejectsWith(verifyRepo(repo), MetadataNotFoundError, ExitCode.metadataNotFound, new RegExp(name));
    });
  }

  test('the device without roots is exit 14', async () => {
    const repo = await buildRepo(workspace, 'no-roots');
    await rm(join(repo.root, 'device/roots'), { recursive: true });
    await rejectsWith(repo.trustStore.load(), MetadataNotFoundError, ExitCode.metadataNotFound);
  });
});

test('expiry is checked against the one time given, not the clock', async () => {
  const repo = await buildRepo(workspace, 'time');
  const trust = await repo.trustStore.load();
  await verifyMedium(repo.medium, trust, { deviceType: 'ci', tags: ['main'] }, referenceNow);
  await rejectsWith(
    verifyMedium(repo.medium, trust, { deviceType: 'ci', tags: ['main'] }, new Date('2040-01-01T00:00:00Z')),
    ExpiredMetadataError,
    ExitCode.expired,
    /2036-01-01T00:00:00\.000Z.*2040-01-01T00:00:00\.000Z/,
  );
});

function flipSignature(signature: { sig: string }): { sig: string } {
  const bytes = Buffer.from(signature.sig, /^[0-9a-f]+$/.test(signature.sig) ? 'hex' : 'base64');
  bytes[0] ^= 1;
  return { ...signature, sig: /^[0-9a-f]+$/.test(signature.sig) ? bytes.toString('hex') : bytes.toString('base64') };
}
