import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { DeviceStateStore } from '../../lib/device/state.js';
import { DeviceStateError } from '../../lib/errors.js';

const web1 = { name: 'web', uri: `hub.foundries.io/acme/web@sha256:${'1'.repeat(64)}` };
const web2 = { name: 'web', uri: `hub.foundries.io/acme/web@sha256:${'2'.repeat(64)}` };
const current = { name: 'intel-corei7-64-lmp-1', version: 1, sha256: 'a'.repeat(64), apps: [web1] };
const target = { name: 'intel-corei7-64-lmp-2', version: 2, sha256: 'b'.repeat(64), apps: [web2] };
const changes = [{ name: 'web', kind: 'updated', from: web1, to: web2 }];

describe('device state file', () => {
  const roots: string[] = [];
  after(async () => {
    for (const root of roots) await rm(root, { recursive: true, force: true });
  });

  async function storeWith(json: unknown): Promise<{ store: DeviceStateStore; path: string }> {
    const root = await mkdtemp(join(tmpdir(), 'fioup-state-'));
    roots.push(root);
    const store = new DeviceStateStore(root);
    await mkdir(store.directory, { recursive: true });
    const path = join(store.directory, 'state.json');
    await writeFile(path, JSON.stringify(json));
    return { store, path };
  }

  test('a pending installation written by the previous format becomes a plan of parts, and is saved in the new one', async () => {
    const { store, path } = await storeWith({
      current,
      pending: { target, previous: current, changes, phase: 'switching', installedAt: '2026-11-30T10:00:00.000Z', rootfs: { commit: target.sha256, previousCommit: current.sha256 } },
      failedTargets: ['intel-corei7-64-lmp-0'],
    });
    const state = await store.load();
    assert.deepEqual(state, {
      current,
      pending: {
        target,
        previous: current,
        phase: 'switching',
        installedAt: '2026-11-30T10:00:00.000Z',
        parts: [{ kind: 'rootfs', commit: target.sha256, previousCommit: current.sha256 }, { kind: 'apps', changes }],
      },
      failedTargets: ['intel-corei7-64-lmp-0'],
    });
    await store.save(state);
    const saved = JSON.parse(await readFile(path, 'utf8'));
    assert.equal(saved.formatVersion, 2);
    assert.deepEqual(await store.load(), state, 'the new format reads back unchanged');
  });

  test('a container-only installation of the previous format has an apps part only; the rollback marker is kept', async () => {
    const { store } = await storeWith({ current, pending: { target, previous: current, changes, phase: 'staged', installedAt: 'x', rollbackOf: 'y' }, failedTargets: [] });
    const { pending } = await store.load();
    assert.deepEqual(pending?.parts, [{ kind: 'apps', changes }]);
    assert.equal(pending?.rollbackOf, 'y');
  });

  test('a state file of a newer format is refused, not misread', async () => {
    const { store } = await storeWith({ formatVersion: 3, current });
    await assert.rejects(store.load(), (error: unknown) => error instanceof DeviceStateError && /format 3, newer than/.test((error as Error).message));
  });

  // issue 17, item 5: a state that is not what the tool wrote is refused with the way out, never taken for a fresh device.
  for (const [label, json] of [
    ['the number 5', 5],
    ['an empty array', []],
    ['a current target whose version is a string', { formatVersion: 2, current: { ...current, version: '1' }, failedTargets: [] }],
    ['failed targets that are not a list', { formatVersion: 2, current, failedTargets: 'lmp-3' }],
    ['an app change of an unknown kind', { formatVersion: 2, current, pending: { target, previous: current, parts: [{ kind: 'apps', changes: [{ ...changes[0], kind: 'moved' }] }], phase: 'staged', installedAt: 'x' }, failedTargets: [] }],
    ['a pending phase of nothing known', { formatVersion: 2, current, pending: { target, previous: current, parts: [], phase: 'done', installedAt: 'x' }, failedTargets: [] }],
  ] as const) {
    test(`a state.json holding ${label} is refused with the file named and the way out`, async () => {
      const { store, path } = await storeWith(json);
      await assert.rejects(store.load(), (error: unknown) => {
        assert.ok(error instanceof DeviceStateError, String(error));
        assert.match(error.message, new RegExp(`${path.replaceAll('.', '\\.')} is not a state this tool wrote`));
        assert.match(error.message, /Nothing was changed.*mv .*state\.json .*state\.json\.bad/);
        return true;
      });
      assert.deepEqual(JSON.parse(await readFile(path, 'utf8')), json, 'the file is left as it was');
    });
  }

  test('a state.json that is not JSON is refused the same way', async () => {
    const { store, path } = await storeWith({});
    await writeFile(path, '{"current": ');
    await assert.rejects(store.load(), (error: unknown) => error instanceof DeviceStateError && /not a state this tool wrote: .*JSON/.test((error as Error).message));
  });
});
