import { DeviceStateError } from '../errors.js';
import { INITIAL_TARGET_NAME, isInitialTarget, openPending, type AppRecord, type DeviceState, type TargetRecord } from '../device/state.js';
import type { AktualizrDatabase, AktualizrState, InstalledTarget, InstalledVersionRow } from './sql-db.js';

/** What sql.db's `installed_versions` says about the device's targets. */
export interface RecordedTargets {
  readonly current: TargetRecord | undefined;
  readonly pending: { readonly name: string; readonly sha256: string } | undefined;
  /** Known but never installed (aktualizr-lite's helpers.cc get_known_but_not_installed_versions), the pending one aside. */
  readonly failed: readonly string[];
}

/**
 * The device's targets as aktualizr-lite records them in sql.db, read into this tool's state and written back from
 * it. Reading: the current target is the row with `is_current = 1`, a failed target one that was recorded but never
 * installed. Writing, after every change of the state: the pending installation as a pending row, the current target
 * as the current row (`was_installed`), a failed target's pending row closed, as aktualizr-lite's
 * saveInstalledVersion would leave them (liteclient.cc install and finalizePendingUpdate), so that aktualizr-lite or
 * fioup started afterwards continues from the right target. Each write is one transaction and repeats harmlessly,
 * so a write cut short by a crash is made again by the next save.
 */
export class AktualizrRecords {
  constructor(private readonly database: AktualizrDatabase, private readonly hardwareId: string) {}

  async load(): Promise<RecordedTargets | undefined> {
    const state = await this.database.read();
    return state && recordedTargets(state);
  }

  /** Brings `installed_versions` in line with the state this tool just saved. */
  async record(state: DeviceState): Promise<void> {
    const before = await this.database.read();
    if (!before) return;
    const rows = primaryRows(before);
    const pendingRow = rows.find((row) => row.isPending);
    const currentRow = rows.find((row) => row.isCurrent);
    const writes: [InstalledTarget, 'current' | 'pending' | 'none'][] = [];
    const pending = openPending(state);
    if (pendingRow && state.failedTargets.includes(pendingRow.name) && pending?.target.name !== pendingRow.name) {
      writes.push([{ name: pendingRow.name, sha256: pendingRow.sha256, custom: {} }, 'none']);
    }
    if (pending && !(pendingRow && same(pending.target, pendingRow))) writes.push([this.installed(pending.target), 'pending']);
    if (state.current && !(currentRow && same(state.current, currentRow)) && !(pending && same(pending.target, state.current))) {
      writes.push([this.installed(state.current), 'current']);
    }
    if (writes.length === 0) return;
    await this.database.update((writer) => {
      for (const [target, mode] of writes) writer.saveInstalledVersion(target, mode);
    });
  }

  /** The row aktualizr-lite would write: the target's custom with the apps it runs as `install-context` (api.cc LiteInstall). */
  private installed(target: TargetRecord): InstalledTarget {
    const base = isInitialTarget(target) ? { targetFormat: 'OSTREE', hardwareIds: [this.hardwareId] } : { ...(target.custom ?? {}) };
    const apps = Object.fromEntries(target.apps.map((app) => [app.name, { uri: app.uri }]));
    return { name: target.name, sha256: target.sha256, custom: target.apps.length > 0 ? { ...base, 'install-context': { apps } } : base };
  }
}

function recordedTargets(state: AktualizrState): RecordedTargets {
  const rows = primaryRows(state);
  const current = rows.find((row) => row.isCurrent);
  const pending = rows.find((row) => row.isPending);
  const installed = new Set(rows.filter((row) => row.wasInstalled).map((row) => row.name));
  const failed = [...new Set(rows.filter((row) => !installed.has(row.name) && row.sha256 !== pending?.sha256).map((row) => row.name))];
  return {
    current: current && targetRecordOf(current, state.path),
    pending: pending && { name: pending.name, sha256: pending.sha256 },
    failed,
  };
}

/** The rows of the primary ECU (libaktualizr asks for the primary's serial), or every row before a serial was stored. */
function primaryRows(state: AktualizrState): InstalledVersionRow[] {
  const serial = state.primaryEcu?.serial;
  return state.installedVersions.filter((row) => serial === undefined || row.ecuSerial === serial || row.ecuSerial === '');
}

function same(target: TargetRecord, row: { readonly name: string; readonly sha256: string }): boolean {
  return target.name === row.name && target.sha256 === row.sha256;
}

/**
 * A row as this tool's target record. `custom_meta` is the target's custom object as aktualizr-lite stores it
 * (version as a string, `docker_compose_apps`, `install-context.apps` for the apps it ran), or fioup's own shape
 * (`{id, version, apps: [{name, uri}]}`, internal/targets/target_db.go).
 */
function targetRecordOf(row: InstalledVersionRow, path: string): TargetRecord {
  const where = `${path}: installed_versions row ${row.id} (${row.name})`;
  const fail = (why: string) => new DeviceStateError(`${where}: ${why}, not what aktualizr-lite or fioup writes. Nothing was changed. ` +
    'Install a target with --force to record a new current target');
  let custom: unknown = {};
  if (row.customMeta !== '') {
    try {
      custom = JSON.parse(row.customMeta);
    } catch (error) {
      throw fail(`custom_meta is not JSON (${(error as Error).message})`);
    }
  }
  if (typeof custom !== 'object' || custom === null || Array.isArray(custom)) throw fail('custom_meta is not a JSON object');
  const fields = custom as Record<string, unknown>;
  if (typeof fields.id === 'string' && Array.isArray(fields.apps)) return fioupRecord(row, fields, fail);
  const version = row.name === INITIAL_TARGET_NAME ? -1 : versionOf(fields.version);
  if (version === undefined) throw fail(`custom_meta.version ${JSON.stringify(fields.version)} is not a whole number in a string`);
  const all = appsOf(fields.docker_compose_apps, 'docker_compose_apps', fail);
  const context = fields['install-context'];
  const ran = typeof context === 'object' && context !== null && 'apps' in context ? appsOf((context as { apps: unknown }).apps, 'install-context.apps', fail) : undefined;
  const apps = ran ?? all;
  const disabled = all.filter((app) => !apps.some((running) => running.name === app.name));
  const text = (key: string) => (typeof fields[key] === 'string' && fields[key] !== '' ? { [key]: fields[key] as string } : {});
  const { 'install-context': _context, ...signed } = fields;
  return {
    name: row.name,
    version,
    sha256: row.sha256,
    apps,
    ...(disabled.length > 0 ? { disabledApps: disabled } : {}),
    ...(Array.isArray(fields.tags) && fields.tags.every((tag) => typeof tag === 'string') ? { tags: fields.tags as string[] } : {}),
    ...renamed(text('lmp-manifest-sha'), 'lmpManifestSha'),
    ...renamed(text('meta-subscriber-overrides-sha'), 'metaSubscriberOverridesSha'),
    ...renamed(text('containers-sha'), 'containersSha'),
    ...(row.name === INITIAL_TARGET_NAME ? {} : { custom: signed }),
  };
}

function fioupRecord(row: InstalledVersionRow, fields: Record<string, unknown>, fail: (why: string) => Error): TargetRecord {
  if (typeof fields.version !== 'number' || !Number.isSafeInteger(fields.version)) throw fail('custom_meta.version is not a whole number');
  const apps = (fields.apps as unknown[]).map((app, index) => {
    const { name, uri } = (app ?? {}) as { name?: unknown; uri?: unknown };
    if (typeof name !== 'string' || typeof uri !== 'string') throw fail(`custom_meta.apps[${index}] is not {name, uri}`);
    return { name, uri };
  });
  return { name: row.name, version: fields.version, sha256: row.sha256, apps };
}

function versionOf(value: unknown): number | undefined {
  return typeof value === 'string' && /^(0|[1-9][0-9]{0,14})$/.test(value) ? Number(value) : undefined;
}

function appsOf(value: unknown, field: string, fail: (why: string) => Error): AppRecord[] {
  if (value === undefined || value === null) return [];
  if (typeof value !== 'object' || Array.isArray(value)) throw fail(`custom_meta.${field} is not an object`);
  return Object.entries(value as Record<string, unknown>).map(([name, app]) => {
    const uri = (app as { uri?: unknown } | null)?.uri;
    if (typeof uri !== 'string') throw fail(`custom_meta.${field}.${name} has no uri`);
    return { name, uri };
  }).sort((a, b) => a.name.localeCompare(b.name));
}

function renamed<K extends string>(entry: Record<string, string>, key: K): { [P in K]?: string } {
  const value = Object.values(entry)[0];
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: string });
}
