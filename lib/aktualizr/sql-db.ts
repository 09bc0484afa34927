import { isAbsolute, join } from 'node:path';
import { DeviceStateError } from '../errors.js';
import { SqliteFile, type Database } from '../sqlite/sqlite-file.js';
import { canonicalEncodings } from '../tuf/canonical-json.js';

/**
 * aktualizr-lite's device state, `<storage>/sql.db` (libaktualizr config/sql/schema.sql, written by
 * src/libaktualizr/storage/sqlstorage.cc), read and written the way libaktualizr does: the image repository's TUF
 * metadata in `meta`, the targets the device installed in `installed_versions`, the primary ECU in `ecus`, the
 * device certificate in `tls_creds`, the reboot flag in `need_reboot`.
 */

/** `meta.repo` of the image repository (Uptane::RepositoryType::Image), and `meta.meta_type` of each role (tuf.h RoleEnum). */
const IMAGE_REPO = 0;
const MetaType = { root: 0, snapshot: 1, targets: 2, timestamp: 3 } as const;
type NonRootRole = 'snapshot' | 'targets' | 'timestamp';
/** libaktualizr stores non-root metadata with Uptane::Version() = ANY_VERSION. */
const ANY_VERSION = -1;

export interface StoredMetadata {
  readonly version: number;
  readonly bytes: Buffer;
}

export interface InstalledVersionRow {
  readonly id: number;
  readonly ecuSerial: string;
  readonly sha256: string;
  readonly name: string;
  readonly isCurrent: boolean;
  readonly isPending: boolean;
  readonly wasInstalled: boolean;
  readonly customMeta: string;
}

/** Everything fioup-offline reads from sql.db, in one snapshot. */
export interface AktualizrState {
  readonly path: string;
  readonly schemaVersion: number;
  /** Image repository roots, oldest first. */
  readonly roots: readonly StoredMetadata[];
  readonly metadata: Readonly<Partial<Record<NonRootRole, StoredMetadata>>>;
  /** Oldest first, as `ORDER BY id`. */
  readonly installedVersions: readonly InstalledVersionRow[];
  readonly primaryEcu: { readonly serial: string; readonly hardwareId: string } | undefined;
  readonly clientCertificate: Buffer | undefined;
  readonly needReboot: boolean;
}

/** What `saveInstalledVersion` records a target as (libaktualizr InstalledVersionUpdateMode). */
type InstalledVersionMode = 'current' | 'pending' | 'none';

export interface InstalledTarget {
  readonly name: string;
  readonly sha256: string;
  /** The target's custom object, stored canonically as `custom_meta`. */
  readonly custom: Readonly<Record<string, unknown>>;
}

/** The tables and columns read or written here: a database without them is not aktualizr-lite's. */
const REQUIRED_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  version: ['version'],
  meta: ['meta', 'repo', 'meta_type', 'version'],
  installed_versions: ['id', 'ecu_serial', 'sha256', 'name', 'hashes', 'length', 'correlation_id', 'is_current', 'is_pending', 'was_installed', 'custom_meta'],
  ecus: ['serial', 'hardware_id', 'is_primary'],
  tls_creds: ['client_cert'],
  need_reboot: ['unique_mark', 'flag'],
};

export class AktualizrDatabase {
  private readonly file: SqliteFile;

  constructor(readonly path: string) {
    this.file = new SqliteFile(path);
  }

  /** `[storage] sqldb_path` (default `sql.db`) against `[storage] path`, as libaktualizr's BasedPath resolves it. */
  static of(storagePath: string, sqldbPath = 'sql.db'): AktualizrDatabase {
    return new AktualizrDatabase(isAbsolute(sqldbPath) ? sqldbPath : join(storagePath, sqldbPath));
  }

  exists(): Promise<boolean> {
    return this.file.exists();
  }

  /** The device state aktualizr-lite keeps; undefined when the device has no sql.db. */
  async read(): Promise<AktualizrState | undefined> {
    const db = await this.file.read();
    if (!db) return undefined;
    try {
      return this.readFrom(db);
    } finally {
      db.close();
    }
  }

  /** Changes sql.db in one transaction (see SqliteFile.update). */
  async update(change: (writer: AktualizrWriter) => void): Promise<void> {
    await this.file.update((db) => {
      this.readFrom(db);
      change(new AktualizrWriter(db));
    });
  }

  private readFrom(db: Database): AktualizrState {
    const fail = (why: string) => new DeviceStateError(`${this.path} is not aktualizr-lite's database as it writes it: ${why}. Nothing was changed. ` +
      `Restore it, or, if aktualizr-lite is not used on this device, move it aside (mv ${this.path} ${this.path}.bad): ` +
      "the device then trusts the roots of its image again and forgets which targets aktualizr-lite recorded");
    for (const [table, columns] of Object.entries(REQUIRED_COLUMNS)) {
      const present = new Set(rows(db, `PRAGMA table_info(${table})`).map((row) => row.name));
      const missing = columns.filter((column) => !present.has(column));
      if (missing.length > 0) throw fail(present.size === 0 ? `it has no table ${table}` : `its table ${table} lacks ${missing.join(', ')}`);
    }
    const version = rows(db, 'SELECT version FROM version LIMIT 1')[0]?.version;
    if (typeof version !== 'number') throw fail('its version table holds no schema version');
    const blob = (value: unknown, what: string): Buffer => {
      if (value instanceof Uint8Array) return Buffer.from(value);
      if (typeof value === 'string') return Buffer.from(value, 'utf8');
      throw fail(`${what} is ${value === null ? 'NULL' : typeof value}`);
    };
    const integer = (value: unknown, what: string): number => {
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw fail(`${what} is not an integer`);
      return value;
    };
    const text = (value: unknown, what: string): string => {
      if (typeof value !== 'string') throw fail(`${what} is ${value === null ? 'NULL' : typeof value}, not text`);
      return value;
    };
    const roots = rows(db, 'SELECT meta, version FROM meta WHERE repo = ? AND meta_type = ? ORDER BY version', [IMAGE_REPO, MetaType.root])
      .map((row) => ({ version: integer(row.version, 'a root version'), bytes: blob(row.meta, `root version ${String(row.version)}`) }));
    const metadata: Partial<Record<NonRootRole, StoredMetadata>> = {};
    for (const role of ['snapshot', 'targets', 'timestamp'] as const) {
      const [row] = rows(db, 'SELECT meta, version FROM meta WHERE repo = ? AND meta_type = ? ORDER BY version DESC LIMIT 1', [IMAGE_REPO, MetaType[role]]);
      if (row) metadata[role] = { version: integer(row.version, `the ${role} version`), bytes: blob(row.meta, `the stored ${role}`) };
    }
    const installedVersions = rows(db, 'SELECT id, ecu_serial, sha256, name, is_current, is_pending, was_installed, custom_meta FROM installed_versions ORDER BY id')
      .map((row) => {
        const where = `installed_versions row ${String(row.id)}`;
        return {
          id: integer(row.id, `${where} id`),
          ecuSerial: text(row.ecu_serial, `${where} ecu_serial`),
          sha256: text(row.sha256, `${where} sha256`),
          name: text(row.name, `${where} name`),
          isCurrent: integer(row.is_current, `${where} is_current`) === 1,
          isPending: integer(row.is_pending, `${where} is_pending`) === 1,
          wasInstalled: integer(row.was_installed, `${where} was_installed`) === 1,
          customMeta: text(row.custom_meta, `${where} custom_meta`),
        };
      });
    const [ecu] = rows(db, 'SELECT serial, hardware_id FROM ecus WHERE is_primary = 1 LIMIT 1');
    const [creds] = rows(db, 'SELECT client_cert FROM tls_creds LIMIT 1');
    const [reboot] = rows(db, 'SELECT flag FROM need_reboot LIMIT 1');
    return {
      path: this.path,
      schemaVersion: version,
      roots,
      metadata,
      installedVersions,
      primaryEcu: ecu && typeof ecu.serial === 'string' && typeof ecu.hardware_id === 'string' ? { serial: ecu.serial, hardwareId: ecu.hardware_id } : undefined,
      clientCertificate: creds?.client_cert == null ? undefined : blob(creds.client_cert, 'tls_creds.client_cert'),
      needReboot: reboot !== undefined && reboot.flag !== 0,
    };
  }
}

/** The writes libaktualizr's SQLStorage makes, with its statements' effects (sqlstorage.cc). */
export class AktualizrWriter {
  constructor(private readonly db: Database) {}

  /** storeRoot: one row per version. */
  storeRoot(version: number, bytes: Uint8Array): void {
    this.db.run('DELETE FROM meta WHERE repo = ? AND meta_type = ? AND version = ?', [IMAGE_REPO, MetaType.root, version]);
    this.db.run('INSERT INTO meta VALUES (?, ?, ?, ?)', [bytes, IMAGE_REPO, MetaType.root, version]);
  }

  /** storeNonRoot: the latest only. */
  storeNonRoot(role: NonRootRole, bytes: Uint8Array): void {
    this.db.run('DELETE FROM meta WHERE repo = ? AND meta_type = ?', [IMAGE_REPO, MetaType[role]]);
    this.db.run('INSERT INTO meta VALUES (?, ?, ?, ?)', [bytes, IMAGE_REPO, MetaType[role], ANY_VERSION]);
  }

  /**
   * saveInstalledVersion for the primary ECU: the last row is updated when it is the same target (name and sha256),
   * else a row is added; `current` clears every other row's current and pending flags, `pending` their pending flag,
   * and a target once current stays `was_installed`. `none` closes a failed target's row, which aktualizr-lite then
   * counts as known but never installed (helpers.cc known_local_target): not offered again.
   */
  saveInstalledVersion(target: InstalledTarget, mode: InstalledVersionMode): void {
    const serial = this.primarySerial();
    const [last] = rows(this.db, 'SELECT id, sha256, name, was_installed FROM installed_versions WHERE ecu_serial = ? ORDER BY id DESC LIMIT 1', [serial]);
    const same = last && last.sha256 === target.sha256 && last.name === target.name ? last : undefined;
    if (mode === 'current') this.db.run('UPDATE installed_versions SET is_current = 0, is_pending = 0 WHERE ecu_serial = ?', [serial]);
    if (mode === 'pending') this.db.run('UPDATE installed_versions SET is_pending = 0 WHERE ecu_serial = ?', [serial]);
    const current = mode === 'current' ? 1 : 0;
    const pending = mode === 'pending' ? 1 : 0;
    if (same) {
      this.db.run('UPDATE installed_versions SET is_current = ?, is_pending = ?, was_installed = ? WHERE id = ?', [current, pending, current || (same.was_installed as number), same.id as number]);
      return;
    }
    this.db.run(
      'INSERT INTO installed_versions(ecu_serial, sha256, name, hashes, length, custom_meta, correlation_id, is_current, is_pending, was_installed) VALUES (?,?,?,?,?,?,?,?,?,?)',
      [serial, target.sha256, target.name, `sha256:${target.sha256.toUpperCase()}`, 0, canonicalEncodings(target.custom, 'ota-tuf', target.name)[0]!.toString('utf8'), '', current, pending, current],
    );
  }

  /** storeNeedReboot / clearNeedReboot: aktualizr-lite finalizes a pending rootfs only with the flag set and the volatile sentinel gone. */
  setNeedReboot(needed: boolean): void {
    if (needed) this.db.run('INSERT OR REPLACE INTO need_reboot(unique_mark, flag) VALUES (0, 1)');
    else this.db.run('DELETE FROM need_reboot');
  }

  /** The primary ECU's serial; '' before aktualizr-lite stored one (libaktualizr's lazy init, filled in by storeEcuSerials). */
  private primarySerial(): string {
    const [row] = rows(this.db, 'SELECT serial FROM ecus WHERE is_primary = 1');
    return typeof row?.serial === 'string' ? row.serial : '';
  }
}

type Row = Record<string, unknown>;

function rows(db: Database, sql: string, params: (string | number | Uint8Array)[] = []): Row[] {
  const statement = db.prepare(sql, params);
  try {
    const result: Row[] = [];
    while (statement.step()) result.push(statement.getAsObject() as Row);
    return result;
  } finally {
    statement.free();
  }
}
