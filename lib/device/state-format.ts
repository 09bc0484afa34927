import type { AppChange, AppChangeKind, PendingInstallation, PendingPhase, PlanPart } from '../update/plan.js';
import type { AppRecord, TargetRecord } from './state.js';

/**
 * The shape of `state.json` as this tool writes it, checked field by field when it is read: a state that does not
 * read as what the tool wrote (a number, an array, a field of the wrong type) is never taken for a fresh device,
 * since that would forget the current target, downgrade protection and the failed targets. Format 1 (no
 * `formatVersion`) kept a pending installation's app changes and rootfs beside the target.
 */
export interface StoredState {
  readonly formatVersion: number;
  readonly current: TargetRecord | undefined;
  readonly pending: PendingInstallation | PendingInstallationV1 | undefined;
  readonly failedTargets: string[];
}

/** A pending installation as format 1 wrote it: the app changes and the rootfs commits as fields of their own. */
export interface PendingInstallationV1 extends Omit<PendingInstallation, 'parts'> {
  readonly changes: readonly AppChange[];
  readonly rootfs?: { readonly commit: string; readonly previousCommit: string };
}

/** Why a value is not what the tool writes, with the JSON path of the first field that is not. */
export class StateShapeError extends Error {}

type Json = unknown;

/** Checks a parsed `state.json`; throws StateShapeError naming the first field that does not fit. */
export function readStoredState(value: Json): StoredState {
  const state = object(value, 'the file');
  const formatVersion = state.formatVersion === undefined ? 1 : integer(state.formatVersion, 'formatVersion');
  const pending = nullable(state.pending, 'pending', (raw, at) => (formatVersion === 1 ? pendingV1(raw, at) : pendingInstallation(raw, at)));
  return {
    formatVersion,
    current: nullable(state.current, 'current', targetRecord),
    pending,
    failedTargets: state.failedTargets === undefined ? [] : array(state.failedTargets, 'failedTargets', string),
  };
}

const APP_CHANGE_KINDS: readonly AppChangeKind[] = ['new', 'updated', 'unchanged', 'removed', 'disabled', 'stray'];
/** Keyed by every phase, so that a phase added to the type cannot be missing here. */
const PHASES = Object.keys({ staged: true, switching: true, 'rolling-back': true, finishing: true } satisfies Record<PendingPhase, true>) as readonly PendingPhase[];

function targetRecord(value: Json, at: string): TargetRecord {
  const raw = object(value, at);
  return {
    name: string(raw.name, `${at}.name`),
    version: integer(raw.version, `${at}.version`),
    sha256: string(raw.sha256, `${at}.sha256`),
    apps: array(raw.apps, `${at}.apps`, appRecord),
    ...optional(raw, 'disabledApps', at, (item, path) => array(item, path, appRecord)),
    ...optional(raw, 'tags', at, (item, path) => array(item, path, string)),
    ...optional(raw, 'lmpManifestSha', at, string),
    ...optional(raw, 'metaSubscriberOverridesSha', at, string),
    ...optional(raw, 'containersSha', at, string),
    ...optional(raw, 'custom', at, object),
  };
}

function appRecord(value: Json, at: string): AppRecord {
  const raw = object(value, at);
  return { name: string(raw.name, `${at}.name`), uri: string(raw.uri, `${at}.uri`) };
}

function appChange(value: Json, at: string): AppChange {
  const raw = object(value, at);
  const kind = string(raw.kind, `${at}.kind`);
  if (!APP_CHANGE_KINDS.includes(kind as AppChangeKind)) throw new StateShapeError(`${at}.kind is '${kind}', not one of ${APP_CHANGE_KINDS.join(', ')}`);
  return {
    name: string(raw.name, `${at}.name`),
    kind: kind as AppChangeKind,
    from: nullable(raw.from, `${at}.from`, appRecord),
    to: nullable(raw.to, `${at}.to`, appRecord),
  };
}

function planPart(value: Json, at: string): PlanPart {
  const raw = object(value, at);
  if (raw.kind === 'rootfs') return { kind: 'rootfs', commit: string(raw.commit, `${at}.commit`), previousCommit: string(raw.previousCommit, `${at}.previousCommit`) };
  if (raw.kind === 'apps') return { kind: 'apps', changes: array(raw.changes, `${at}.changes`, appChange) };
  throw new StateShapeError(`${at}.kind must be 'rootfs' or 'apps'`);
}

function pendingCommon(raw: Record<string, Json>, at: string): Omit<PendingInstallation, 'parts'> {
  const phase = string(raw.phase, `${at}.phase`);
  if (!PHASES.includes(phase as PendingPhase)) throw new StateShapeError(`${at}.phase is '${phase}', not one of ${PHASES.join(', ')}`);
  return {
    target: targetRecord(raw.target, `${at}.target`),
    previous: nullable(raw.previous, `${at}.previous`, targetRecord),
    phase: phase as PendingPhase,
    installedAt: string(raw.installedAt, `${at}.installedAt`),
    ...optional(raw, 'rollbackOf', at, string),
  };
}

function pendingInstallation(value: Json, at: string): PendingInstallation {
  const raw = object(value, at);
  return { ...pendingCommon(raw, at), parts: array(raw.parts, `${at}.parts`, planPart) };
}

function pendingV1(value: Json, at: string): PendingInstallationV1 {
  const raw = object(value, at);
  const rootfs = nullable(raw.rootfs, `${at}.rootfs`, (item, path) => {
    const commits = object(item, path);
    return { commit: string(commits.commit, `${path}.commit`), previousCommit: string(commits.previousCommit, `${path}.previousCommit`) };
  });
  return { ...pendingCommon(raw, at), changes: array(raw.changes, `${at}.changes`, appChange), ...(rootfs ? { rootfs } : {}) };
}

function object(value: Json, at: string): Record<string, Json> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new StateShapeError(`${at} must be an object, not ${describe(value)}`);
  return value as Record<string, Json>;
}

function string(value: Json, at: string): string {
  if (typeof value !== 'string') throw new StateShapeError(`${at} must be a string, not ${describe(value)}`);
  return value;
}

function integer(value: Json, at: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new StateShapeError(`${at} must be a whole number, not ${describe(value)}`);
  return value;
}

function array<T>(value: Json, at: string, item: (value: Json, at: string) => T): T[] {
  if (!Array.isArray(value)) throw new StateShapeError(`${at} must be an array, not ${describe(value)}`);
  return value.map((element, index) => item(element, `${at}[${index}]`));
}

/** Absent or null is undefined. */
function nullable<T>(value: Json, at: string, read: (value: Json, at: string) => T): T | undefined {
  return value === undefined || value === null ? undefined : read(value, at);
}

/** `{ [key]: value }` when the field is present, else nothing, to spread into the record. */
function optional<K extends string, T>(raw: Record<string, Json>, key: K, at: string, read: (value: Json, at: string) => T): { [P in K]?: T } {
  return raw[key] === undefined ? {} : ({ [key]: read(raw[key], `${at}.${key}`) } as { [P in K]?: T });
}

function describe(value: Json): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  return `${typeof value} ${String(value)}`;
}
