import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { writeAktualizrDb } from '../../fixtures/device/aktualizr-db.js';
import { AktualizrTrustStore } from '../../lib/aktualizr/db-trust.js';
import { withAktualizrIdentity } from '../../lib/aktualizr/identity.js';
import { AktualizrRecords } from '../../lib/aktualizr/installed-versions.js';
import { AktualizrDatabase } from '../../lib/aktualizr/sql-db.js';
import { loadDeviceConfig } from '../../lib/config/device-config.js';
import { DeviceStateStore, type TargetRecord } from '../../lib/device/state.js';

async function sqlite3(path: string, sql: string): Promise<Record<string, unknown>[]> {
  const { stdout } = await promisify(execFile)('sqlite3', ['-json', path, sql]);
  return stdout.trim() === '' ? [] : JSON.parse(stdout);
}

const target = (version: number): TargetRecord => ({
  name: `hw-lmp-${version}`, version, sha256: String(version).repeat(64), apps: [],
  custom: { version: String(version), hardwareIds: ['hw'], targetFormat: 'OSTREE' },
});
const row = (version: number, flags: { current?: boolean; pending?: boolean; wasInstalled?: boolean }) => ({ name: `hw-lmp-${version}`, sha256: String(version).repeat(64), custom: target(version).custom!, ...flags });

describe("what sql.db adds: the identity, the image roots aktualizr-lite imports, the rows kept in step", () => {
  let workdir: string;
  before(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'fioup-sqldb-unit-'));
  });
  after(async () => {
    await rm(workdir, { recursive: true, force: true });
  });

  test('the device type comes from the certificate in tls_creds (production or not), unless the config tells; the hardware id from ecus unless configured', async () => {
    const certificate = (subject: string, name: string) => {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ed25519', '-nodes', '-keyout', join(workdir, 'pkey.pem'), '-out', join(workdir, name), '-subj', subject, '-days', '1'], { stdio: 'ignore' });
      return readFile(join(workdir, name), 'utf8');
    };
    const prod = await certificate('/CN=device-1/OU=acme/businessCategory=production', 'prod.pem');
    const ci = await certificate('/CN=device-2/OU=acme', 'ci.pem');
    const configOf = async (toml: string) => {
      const file = join(workdir, 'sota.toml');
      await writeFile(file, toml);
      return loadDeviceConfig([file], { explicit: true });
    };
    const identity = async (toml: string, clientCertificate?: string) => {
      const path = join(workdir, 'identity.db');
      await writeAktualizrDb(path, { primaryEcu: { serial: 'ecu', hardwareId: 'hw-from-db' }, ...(clientCertificate ? { clientCertificate } : {}) });
      const { deviceType, hardwareId, warnings } = withAktualizrIdentity(await configOf(toml), await new AktualizrDatabase(path).read());
      return { deviceType, hardwareId, warnings };
    };
    assert.deepEqual(await identity('', prod), { deviceType: 'prod', hardwareId: 'hw-from-db', warnings: [] });
    assert.equal((await identity('', ci)).deviceType, 'ci');
    assert.equal((await identity('')).deviceType, undefined, 'no certificate: unknown, ci and prod bundles both taken');
    assert.equal((await identity('[offline]\ndevice_type = "ci"\n', prod)).deviceType, 'ci', '[offline] device_type wins');
    assert.equal((await identity('[provision]\nprimary_ecu_hardware_id = "hw-configured"\n')).hardwareId, 'hw-configured');
    const hsm = await identity('[tls]\ncert_source = "pkcs11"\n');
    assert.equal(hsm.deviceType, undefined);
    assert.match(hsm.warnings.join('\n'), /HSM .*set \[offline\] device_type/);
  });

  test("the image's roots are imported while sql.db lacks root 2: all of ci/ for a known type, versions 1 and 2 for an unknown one", async () => {
    const rootsDir = join(workdir, 'image-roots');
    for (const type of ['ci', 'prod']) {
      await mkdir(join(rootsDir, type), { recursive: true });
      for (const version of [1, 2, 3]) await writeFile(join(rootsDir, type, `${version}.root.json`), `${type} root ${version}`);
    }
    const dbPath = join(workdir, 'trust.db');
    const rootsOf = async (deviceType: string | undefined) => {
      const { roots } = await new AktualizrTrustStore(new AktualizrDatabase(dbPath), { rootsDir, deviceType }).load();
      return roots.map((root) => root.bytes.toString());
    };
    await writeAktualizrDb(dbPath, {});
    assert.deepEqual(await rootsOf('prod'), ['prod root 1', 'prod root 2', 'prod root 3']);
    assert.deepEqual(await rootsOf(undefined), ['ci root 1', 'ci root 2'], 'an unregistered device: only the roots ci and prod share');
    await writeAktualizrDb(dbPath, { roots: new Map([[1, Buffer.from('db root 1')], [2, Buffer.from('db root 2')]]) });
    assert.deepEqual(await rootsOf('ci'), ['db root 1', 'db root 2'], 'root 2 in the table: nothing is imported');
    await writeAktualizrDb(dbPath, { roots: new Map([[1, Buffer.from('db root 1')]]) });
    assert.deepEqual(await rootsOf('ci'), ['db root 1', 'ci root 2', 'ci root 3'], "the table's own versions win over the image's");
  });

  for (const finishing of [false, true]) {
  test(`a save cut short between state.json and sql.db (the run finished, its row still pending${finishing ? ', its clean-up left' : ''}) is completed by the next command that takes the lock`, async () => {
    const storage = join(workdir, finishing ? 'storage-finishing' : 'storage');
    const dbPath = join(storage, 'sql.db');
    await writeAktualizrDb(dbPath, { primaryEcu: { serial: 'ecu', hardwareId: 'hw' }, installedVersions: [row(1, { current: true }), row(2, { pending: true })] });
    // A run killed while it removed what target 1 used: target 2 is current, its installation open in phase 'finishing'.
    const pending = finishing ? { target: target(2), previous: target(1), parts: [], phase: 'finishing' as const, installedAt: '2026-01-01T00:00:00Z' } : undefined;
    await new DeviceStateStore(storage).save({ current: target(2), pending, failedTargets: [] });
    const store = new DeviceStateStore(storage, new AktualizrRecords(new AktualizrDatabase(dbPath), 'hw'));
    assert.equal((await store.load()).current?.name, 'hw-lmp-2', "the target this tool finished, though its row is still pending");
    assert.deepEqual(await sqlite3(dbPath, 'SELECT name, is_current, is_pending FROM installed_versions ORDER BY id'), [
      { name: 'hw-lmp-1', is_current: 1, is_pending: 0 }, { name: 'hw-lmp-2', is_current: 0, is_pending: 1 },
    ], 'reading changes nothing');
    await store.loadToUpdate();
    assert.deepEqual(await sqlite3(dbPath, 'SELECT name, is_current, is_pending, was_installed FROM installed_versions ORDER BY id'), [
      { name: 'hw-lmp-1', is_current: 0, is_pending: 0, was_installed: 1 }, { name: 'hw-lmp-2', is_current: 1, is_pending: 0, was_installed: 1 },
    ]);
    const before = await readFile(dbPath);
    await store.loadToUpdate();
    assert.ok(before.equals(await readFile(dbPath)), 'in step: nothing is written');
  });
  }

  test('a target aktualizr-lite installed online since this tool last ran is the current one; its row is left as it is', async () => {
    const storage = join(workdir, 'online');
    const dbPath = join(storage, 'sql.db');
    await new DeviceStateStore(storage).save({ current: target(1), pending: undefined, failedTargets: [] });
    await writeAktualizrDb(dbPath, { primaryEcu: { serial: 'ecu', hardwareId: 'hw' }, installedVersions: [row(1, { wasInstalled: true }), row(3, { current: true })] });
    const before = await readFile(dbPath);
    const state = await new DeviceStateStore(storage, new AktualizrRecords(new AktualizrDatabase(dbPath), 'hw')).loadToUpdate();
    assert.equal(state.current?.name, 'hw-lmp-3');
    assert.equal(state.current?.version, 3);
    assert.ok(before.equals(await readFile(dbPath)));
  });
});
