import { splitList, type AppFilter } from '../config/device-config.js';
import { InvalidMetadataError, UnsafePathError } from '../errors.js';
import { safePathComponent } from '../medium/safe-path.js';
import type { TargetFileEntry } from '../tuf/model.js';
import { parseAppUri, type AppUri } from './app-uri.js';

/** A target of the trusted targets metadata, its custom fields (docs/formats.md section 3) checked and typed. */
export interface Target {
  /** The key in `signed.targets`: a label only, never used as a path. */
  readonly name: string;
  readonly version: number;
  readonly hardwareIds: readonly string[];
  readonly tags: readonly string[];
  /** `hashes.sha256`: the OSTree commit on OSTree devices. */
  readonly sha256: string | undefined;
  readonly apps: readonly AppUri[];
  /** Which apps the factory's CI fetched for offline updates (`custom.fetched-apps`, see `fetchedApps`). */
  readonly fetchedApps: AppFilter;
  /** Build facts aktualizr-lite writes into `<storage>/current-target`. */
  readonly lmpManifestSha: string | undefined;
  readonly metaSubscriberOverridesSha: string | undefined;
  readonly containersSha: string | undefined;
  /** The signed custom object as it is, for aktualizr-lite's records (sql.db `installed_versions.custom_meta`). */
  readonly custom?: Readonly<Record<string, unknown>>;
}

/** A target whose custom fields cannot be used, with the reason. */
export interface InvalidTarget {
  readonly name: string;
  readonly problem: string;
}

export interface TargetCatalog {
  readonly valid: ReadonlyMap<string, Target>;
  readonly invalid: ReadonlyMap<string, InvalidTarget>;
}

/** Parses every target; a malformed one is set aside so that it cannot stop the update of other targets. */
export function catalogTargets(targets: ReadonlyMap<string, TargetFileEntry>, fileName: string): TargetCatalog {
  const valid = new Map<string, Target>();
  const invalid = new Map<string, InvalidTarget>();
  for (const [name, entry] of targets) {
    try {
      valid.set(name, parseTarget(name, entry, fileName));
    } catch (error) {
      if (!(error instanceof InvalidMetadataError || error instanceof UnsafePathError)) throw error;
      invalid.set(name, { name, problem: error.message });
    }
  }
  return { valid, invalid };
}

export function parseTarget(name: string, entry: TargetFileEntry, fileName: string): Target {
  const where = `${fileName}: target ${JSON.stringify(name)}`;
  const fail = (problem: string): never => {
    throw new InvalidMetadataError(`${where}: ${problem}`);
  };
  // eslint-disable-next-line no-control-regex
  if (name.length === 0 || name.length > 255 || /[\u0000-\u001f\u007f]/.test(name)) fail('the name is empty, too long or has control characters');
  const custom = entry.custom;
  if (typeof custom !== 'object' || custom === null || Array.isArray(custom)) return fail('has no custom object');
  const fields = custom as Record<string, unknown>;

  const version = typeof fields.version === 'string' && /^(0|[1-9][0-9]{0,14})$/.test(fields.version) ? Number(fields.version) : NaN;
  if (Number.isNaN(version)) fail(`custom.version ${JSON.stringify(fields.version)} is not an integer in a string`);

  const apps: AppUri[] = [];
  const composeApps = fields.docker_compose_apps ?? {};
  if (typeof composeApps !== 'object' || composeApps === null || Array.isArray(composeApps)) fail('custom.docker_compose_apps is not an object');
  for (const [appName, app] of Object.entries(composeApps as Record<string, unknown>)) {
    const appWhere = `${where}: app ${JSON.stringify(appName)}`;
    safePathComponent(appName, `${appWhere}: name`);
    const uri = parseAppUri((app as { uri?: unknown } | null)?.uri, appWhere);
    if (uri.name !== appName) fail(`app ${JSON.stringify(appName)} has URI ${JSON.stringify(uri.uri)} for another app`);
    apps.push(uri);
  }

  const sha256 = entry.hashes.sha256?.toLowerCase();
  const text = (field: string) => (typeof fields[field] === 'string' && fields[field] !== '' ? fields[field] as string : undefined);
  return {
    name,
    version,
    hardwareIds: stringList(fields.hardwareIds, 'custom.hardwareIds', fail),
    tags: fields.tags === undefined ? [] : stringList(fields.tags, 'custom.tags', fail),
    sha256,
    apps,
    fetchedApps: fetchedApps(fields['fetched-apps'], apps),
    lmpManifestSha: text('lmp-manifest-sha'),
    metaSubscriberOverridesSha: text('meta-subscriber-overrides-sha'),
    containersSha: text('containers-sha'),
    custom: fields,
  };
}

/**
 * `custom.fetched-apps`, read as aktualizr-lite's api.cc reads it (leniently: a malformed field means all apps):
 * absent or not an object: all of the target's apps; `uri` null, absent or empty: apps were not fetched, so none;
 * `shortlist` absent, null or empty: all; else the listed apps of the target, or none when no listed app is one.
 */
function fetchedApps(value: unknown, apps: readonly AppUri[]): AppFilter {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { kind: 'all' };
  const { uri, shortlist } = value as { uri?: unknown; shortlist?: unknown };
  if (typeof uri !== 'string' || uri === '') return { kind: 'none' };
  if (typeof shortlist !== 'string' || shortlist === '') return { kind: 'all' };
  const listed = new Set(splitList(shortlist));
  const names = apps.map((app) => app.name).filter((name) => listed.has(name));
  return names.length === 0 ? { kind: 'none' } : { kind: 'listed', names };
}

function stringList(value: unknown, field: string, fail: (problem: string) => never): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) return fail(`${field} is not a list of strings`);
  return value as string[];
}
