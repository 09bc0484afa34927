import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UnsafePathError } from '../../lib/errors.js';
import { DeviceTrustStore } from '../../lib/tuf/device-trust.js';
import { buildRepo, verifyRepo, Workspace } from './helpers.js';

const workspace = new Workspace();
after(() => workspace.cleanUp());

describe('device trust store', () => {
  test('persist stores the accepted roots and roles byte for byte, and load chains them after the image roots', async () => {
    const repo = await buildRepo(workspace, 'persist', { rootVersion: 5, rotations: { root: [3, 5] } });
    const before = await repo.trustStore.load();
    assert.deepEqual(before.roots.map((root) => root.fileName.split('/').pop()), ['1.root.json', '2.root.json']);
    assert.equal(before.previous.timestamp, undefined);

    const verified = await verifyRepo(repo);
    await repo.trustStore.persist(verified);
    const storage = join(repo.root, 'device/storage/tuf');
    assert.deepEqual((await readdir(storage)).sort(), [
      '3.root.json', '4.root.json', '5.root.json', 'bundle-targets.json', 'snapshot.json', 'targets.json', 'timestamp.json',
    ]);
    for (const name of ['5.root.json', 'targets.json', 'timestamp.json']) {
      assert.deepEqual(await readFile(join(storage, name)), await readFile(join(repo.mediumDir, 'tuf', name)));
    }

    const after = await repo.trustStore.load();
    assert.deepEqual(after.roots.map((root) => root.fileName.split('/').pop()), ['1.root.json', '2.root.json', '3.root.json', '4.root.json', '5.root.json']);
    assert.ok(after.previous.targets);
    // The same medium again: nothing new to accept, and no rollback.
    const again = await verifyRepo(repo);
    assert.equal(again.newRoots.length, 0);
    assert.equal(again.usedStoredMetadata, false);
  });

  test('a stale bundle persists no older metadata', async () => {
    const repo = await buildRepo(workspace, 'persist-stale', { defects: ['rollback'] });
    const storage = join(repo.root, 'device/storage/tuf');
    const storedTargets = await readFile(join(storage, 'targets.json'));
    const verified = await verifyRepo(repo);
    assert.equal(verified.usedStoredMetadata, true);
    await repo.trustStore.persist(verified);
    assert.deepEqual(await readFile(join(storage, 'targets.json')), storedTargets);
  });

  test('the device type must be a plain name', () => {
    assert.throws(() => new DeviceTrustStore({ rootsDir: '/usr/lib/sota/tuf', deviceType: '../ci', storageDir: '/var/sota' }), UnsafePathError);
  });
});
