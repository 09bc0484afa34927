import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { sampleApps } from '../../fixtures/apps/index.js';
import { writeAktualizrDb, type AktualizrDbSpec } from '../../fixtures/device/aktualizr-db.js';
import { buildFactory, scenarios, type FactoryBuild } from '../../fixtures/factory.js';
import { targetEntry } from '../../fixtures/tuf/targets.js';
import { createTestDevice, removeComposeProjects, removeTree, type TestDevice } from '../helpers/device.js';

const HW = 'sqldb-hw';
const APP = 'sqldb-app';

/** The independent reader: Debian's sqlite3 CLI, in JSON mode. */
async function sqlite3(path: string, sql: string): Promise<Record<string, unknown>[]> {
  const { stdout } = await promisify(execFile)('sqlite3', ['-json', path, sql]);
  return stdout.trim() === '' ? [] : JSON.parse(stdout);
}

async function rootsOf(factory: FactoryBuild): Promise<Map<number, Buffer>> {
  const roots = new Map<number, Buffer>();
  for (const directory of [factory.dirs.deviceRoots, factory.dirs.tuf]) {
    for (const name of await readdir(directory)) {
      const version = /^(\d+)\.root\.json$/.exec(name)?.[1];
      if (version) roots.set(Number(version), await readFile(join(directory, name)));
    }
  }
  return roots;
}

describe("aktualizr-lite's sql.db is the device's truth", () => {
  let workdir: string;
  /** Roots 1..3, the targets key rotated at root 3. */
  let factory: FactoryBuild;
  /** The same factory before the rotation: roots 1 and 2 only, metadata signed by the old targets key. */
  let beforeRotation: FactoryBuild;
  const devices: TestDevice[] = [];

  const spec = (rootVersion: number, rotations: number[]) => scenarios.basic({
    seed: 'sqldb',
    device: { type: 'ci', hardwareId: HW, tag: 'main' },
    targets: [1, 2].map((version) => ({ hardwareIds: [HW], version, apps: [sampleApps.tiny(APP, version)] })),
    tuf: { rootVersion, rotations: { targets: rotations } },
  });

  before(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'fioup-sqldb-'));
    factory = await buildFactory(join(workdir, 'factory'), spec(3, [3]));
    beforeRotation = await buildFactory(join(workdir, 'before-rotation'), spec(2, []));
  });
  after(async () => {
    await removeComposeProjects([APP]);
    for (const device of devices) await removeTree(device.root);
    await removeTree(workdir);
  });

  /** A device of `factory` whose storage holds an sql.db; `imageRoots: false` empties the image's roots directory. */
  async function deviceWith(db: AktualizrDbSpec, options: { imageRoots?: boolean } = {}): Promise<{ device: TestDevice; dbPath: string }> {
    const device = await createTestDevice(factory);
    devices.push(device);
    if (options.imageRoots === false) await rm(join(device.root, 'roots'), { recursive: true });
    const dbPath = join(device.storage, 'sql.db');
    await writeAktualizrDb(dbPath, db);
    return { device, dbPath };
  }

  const installed = (version: number) => {
    const target = factory.targets.find((candidate) => candidate.name === `${HW}-lmp-${version}`)!;
    const entry = targetEntry('acme', target) as { custom: object };
    return { name: target.name, sha256: target.sha256, custom: entry.custom };
  };

  test('trust is taken from sql.db: a device whose image has no roots checks the medium against the database\'s roots', async () => {
    const roots = await rootsOf(factory);
    const { device } = await deviceWith({ roots: new Map([[1, roots.get(1)!], [2, roots.get(2)!]]) }, { imageRoots: false });
    const check = await device.cli(['check', '--src-dir', factory.dirs.medium]);
    assert.equal(check.code, 16, check.stderr);
    const without = await createTestDevice(factory);
    devices.push(without);
    await rm(join(without.root, 'roots'), { recursive: true });
    assert.equal((await without.cli(['check', '--src-dir', factory.dirs.medium])).code, 14, 'the same device without sql.db trusts nothing');
  });

  test('a targets key the database already rotated away from is refused (15), where the image roots alone would accept it', async () => {
    const { device } = await deviceWith({ roots: await rootsOf(factory) });
    const check = await device.cli(['check', '--src-dir', beforeRotation.dirs.medium]);
    assert.equal(check.code, 15, check.stderr);
    assert.match(check.stderr, /bundle-targets\.json/);
    const plain = await createTestDevice(factory);
    devices.push(plain);
    assert.equal((await plain.cli(['check', '--src-dir', beforeRotation.dirs.medium])).code, 16, 'without sql.db the old bundle is taken');
  });

  test("a downgrade is refused (102) against the database's current target; current shows it", async () => {
    const { device } = await deviceWith({ roots: await rootsOf(factory), installedVersions: [{ ...installed(2), current: true }] });
    const current = await device.cli(['current', '--json']);
    assert.equal(current.code, 0, current.stderr);
    assert.equal(JSON.parse(current.stdout.trim().split('\n').at(-1)!).name, `${HW}-lmp-2`);
    const install = await device.cli(['install', '--src-dir', factory.dirs.medium, '--target', `${HW}-lmp-1`]);
    assert.equal(install.code, 102, install.stderr);
    assert.match(install.stderr, /older than the current sqldb-hw-lmp-2/);
  });

  test('install and run write what aktualizr-lite expects, as the sqlite3 CLI reads it: roots imported, metadata, a pending row, then the current one', async () => {
    const { device, dbPath } = await deviceWith({ primaryEcu: { serial: 'ecu-1', hardwareId: HW }, installedVersions: [{ ...installed(1), current: true }] });
    await device.configure('90-no-hwid.toml', '[provision]\nprimary_ecu_hardware_id = ""\n');
    const before = await stat(dbPath);

    const install = await device.cli(['install', '--src-dir', factory.dirs.medium]);
    assert.equal(install.code, 101, `the hardware id comes from ecus: ${install.stderr}`);
    assert.deepEqual((await sqlite3(dbPath, 'SELECT version FROM meta WHERE repo = 0 AND meta_type = 0 ORDER BY version')).map((row) => row.version), [1, 2, 3],
      'the image roots are imported (no root 2 in the table) and root 3 of the medium added');
    assert.deepEqual((await sqlite3(dbPath, 'SELECT meta_type, version FROM meta WHERE repo = 0 AND meta_type != 0 ORDER BY meta_type')), [
      { meta_type: 1, version: -1 }, { meta_type: 2, version: -1 }, { meta_type: 3, version: -1 },
    ]);
    const timestamp = JSON.parse(String((await sqlite3(dbPath, 'SELECT CAST(meta AS TEXT) AS m FROM meta WHERE meta_type = 3'))[0]!.m));
    assert.equal(timestamp.signed._type, 'Timestamp');
    const pending = await sqlite3(dbPath, 'SELECT ecu_serial, name, is_current, is_pending, was_installed, hashes FROM installed_versions ORDER BY id');
    assert.deepEqual(pending, [
      { ecu_serial: 'ecu-1', name: `${HW}-lmp-1`, is_current: 1, is_pending: 0, was_installed: 1, hashes: `sha256:${installed(1).sha256.toUpperCase()}` },
      { ecu_serial: 'ecu-1', name: `${HW}-lmp-2`, is_current: 0, is_pending: 1, was_installed: 0, hashes: `sha256:${installed(2).sha256.toUpperCase()}` },
    ]);
    const after = await stat(dbPath);
    assert.equal(after.mode, before.mode, 'the file keeps its mode');

    const run = await device.cli(['run']);
    assert.equal(run.code, 0, run.stderr);
    const rows = await sqlite3(dbPath, 'SELECT name, is_current, is_pending, was_installed, custom_meta FROM installed_versions ORDER BY id');
    assert.deepEqual(rows.map(({ custom_meta: _, ...row }) => row), [
      { name: `${HW}-lmp-1`, is_current: 0, is_pending: 0, was_installed: 1 },
      { name: `${HW}-lmp-2`, is_current: 1, is_pending: 0, was_installed: 1 },
    ]);
    const custom = JSON.parse(String(rows[1]!.custom_meta));
    assert.equal(custom.version, '2');
    assert.deepEqual(custom['install-context'], { apps: { [APP]: { uri: factory.targets.find((t) => t.name === `${HW}-lmp-2`)!.apps[0]!.uri } } });
    assert.equal((await sqlite3(dbPath, 'PRAGMA integrity_check'))[0]!.integrity_check, 'ok');
    assert.deepEqual((await readdir(device.storage)).filter((name) => name.startsWith('sql.db')), ['sql.db'], 'no journal or temporary file is left');
  });

  test('killed before the commit, install run again converges on the rows aktualizr-lite expects', async () => {
    const { device, dbPath } = await deviceWith({ roots: await rootsOf(factory), installedVersions: [{ ...installed(1), current: true }] });
    const killed = await device.cli(['install', '--src-dir', factory.dirs.medium], { FIOUP_OFFLINE_CRASH_AT: 'install:commit' });
    assert.equal(killed.code, -1);
    assert.deepEqual(await sqlite3(dbPath, 'SELECT name FROM installed_versions WHERE is_pending = 1'), [], 'nothing recorded before the commit');
    assert.equal((await device.cli(['install', '--src-dir', factory.dirs.medium])).code, 101);
    assert.deepEqual(await sqlite3(dbPath, 'SELECT name FROM installed_versions WHERE is_pending = 1'), [{ name: `${HW}-lmp-2` }]);
    const run = await device.cli(['run']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await sqlite3(dbPath, 'SELECT name, is_current, is_pending, was_installed FROM installed_versions ORDER BY id'), [
      { name: `${HW}-lmp-1`, is_current: 0, is_pending: 0, was_installed: 1 },
      { name: `${HW}-lmp-2`, is_current: 1, is_pending: 0, was_installed: 1 },
    ]);
  });

  test('a database that is not what aktualizr-lite writes, or that another program was writing when it stopped, is refused and left alone', async () => {
    const { device, dbPath } = await deviceWith({ roots: await rootsOf(factory) });
    await writeFile(`${dbPath}-journal`, Buffer.from([0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7, 0, 0, 0, 0]));
    const journal = await device.cli(['check', '--src-dir', factory.dirs.medium]);
    assert.equal(journal.code, 1);
    assert.match(journal.stderr, /a write to it was interrupted .*sql\.db-journal.*start aktualizr-lite once/);
    await rm(`${dbPath}-journal`);

    await writeFile(dbPath, 'not a database');
    const garbage = await device.cli(['status']);
    assert.equal(garbage.code, 1);
    assert.match(garbage.stderr, /sql\.db is not an SQLite database/);

    await writeAktualizrDb(dbPath, {});
    await promisify(execFile)('sqlite3', [dbPath, 'DROP TABLE installed_versions']);
    const noTable = await device.cli(['status']);
    assert.equal(noTable.code, 1);
    assert.match(noTable.stderr, /is not aktualizr-lite's database as it writes it: it has no table installed_versions.*mv .*sql\.db .*sql\.db\.bad/);

    await writeAktualizrDb(dbPath, { installedVersions: [{ ...installed(1), custom: { version: 'one' }, current: true }] });
    const badRow = await device.cli(['status']);
    assert.equal(badRow.code, 1);
    assert.match(badRow.stderr, /installed_versions row 1 \(sqldb-hw-lmp-1\): custom_meta\.version "one" is not a whole number/);
  });
});
