import { join } from 'node:path';
import { DeviceStateError, NotARegularFileError } from '../errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../fs/atomic.js';
import { readRegularFile } from '../fs/device-files.js';
import type { AktualizrRecords, RecordedTargets } from '../aktualizr/installed-versions.js';
import type { PendingInstallation, PlanPart } from '../update/plan.js';
import { readStoredState, StateShapeError, type PendingInstallationV1, type StoredState } from './state-format.js';

/** An app as a target pins it: name and digest-pinned URI (`<host>/<repo>/<name>@sha256:<hex>`). */
export interface AppRecord {
  readonly name: string;
  readonly uri: string;
}

export interface TargetRecord {
  readonly name: string;
  /** -1 for the initial target, which has none. */
  readonly version: number;
  readonly sha256: string;
  /** The apps of the target that this device runs (fetched for it and enabled in config). */
  readonly apps: AppRecord[];
  /** The apps of the target that the config does not enable: `current` lists them as off. */
  readonly disabledApps?: AppRecord[];
  /** What aktualizr-lite writes into `current-target` (liteclient.cc writeCurrentTarget). */
  readonly tags?: readonly string[];
  readonly lmpManifestSha?: string;
  readonly metaSubscriberOverridesSha?: string;
  readonly containersSha?: string;
  /** The target's signed custom object, which aktualizr-lite's `installed_versions` rows keep (none for the initial target). */
  readonly custom?: Readonly<Record<string, unknown>>;
}

/** aktualizr-lite's name for the target a device booted from its factory image, before any update (target.cc). */
export const INITIAL_TARGET_NAME = 'Initial Target';

/**
 * The target of a device no update was recorded on: the booted rootfs (on OSTree devices) and the apps found in
 * `compose_apps_root` (preloaded into the image), whose URIs are not known. Rolling back to it puts those back.
 */
export function initialTarget(bootedCommit: string | undefined, presentApps: readonly string[]): TargetRecord {
  return { name: INITIAL_TARGET_NAME, version: -1, sha256: bootedCommit ?? '', apps: presentApps.map((name) => ({ name, uri: '' })) };
}

export function isInitialTarget(target: TargetRecord): boolean {
  return target.name === INITIAL_TARGET_NAME;
}

export interface DeviceState {
  readonly current: TargetRecord | undefined;
  readonly pending: PendingInstallation | undefined;
  /** Targets whose installation failed and was rolled back: not offered again without --force. */
  readonly failedTargets: string[];
}

const emptyState: DeviceState = { current: undefined, pending: undefined, failedTargets: [] };

/**
 * The installation that still waits for `run`. A run that died while it removed what the previous target used (phase
 * 'finishing') has made its target current already: only its clean-up is left, which the next command does, so it
 * is none.
 */
export function openPending(state: DeviceState): PendingInstallation | undefined {
  return state.pending?.phase === 'finishing' ? undefined : state.pending;
}

/** The state an update is planned from: without a finished run's clean-up (openPending). */
export function withoutFinishedUpdate(state: DeviceState): DeviceState {
  return openPending(state) === state.pending ? state : { ...state, pending: undefined };
}

/** The shape of `state.json`: 1 (no `formatVersion` field) kept the app changes and the rootfs beside the target. */
const STATE_FORMAT_VERSION = 2;
/** Far above any real state: a pending plan of a hundred apps is a few tens of kilobytes. */
const MAX_STATE_BYTES = 16 << 20;

/** The device's own files under `[storage] path`; every write is atomic. */
export class DeviceStateStore {
  readonly directory: string;

  /** `aktualizr`: the device's sql.db records, when it has one: they are read into the state and kept in step with it. */
  constructor(readonly storagePath: string, private readonly aktualizr?: AktualizrRecords) {
    this.directory = join(storagePath, 'fioup-offline');
  }

  get lockPath(): string {
    return join(this.directory, 'lock');
  }

  /** aktualizr-lite's `current-target` file, read by other tools on the device and passed to callbacks. */
  get currentTargetPath(): string {
    return join(this.storagePath, 'current-target');
  }

  private get statePath(): string {
    return join(this.directory, 'state.json');
  }

  async load(): Promise<DeviceState> {
    const own = await this.loadOwn();
    const recorded = await this.aktualizr?.load();
    return recorded ? withAktualizrRecords(own, recorded) : own;
  }

  /**
   * The state for a command that changes it, under the device lock: sql.db is first brought in step with it, which
   * completes a save that a crash cut short between `state.json` and sql.db (a run that finished its target, then
   * found nothing pending, would otherwise leave aktualizr-lite's rows behind for good).
   */
  async loadToUpdate(): Promise<DeviceState> {
    const state = await this.load();
    await this.aktualizr?.record(state);
    return state;
  }

  private async loadOwn(): Promise<DeviceState> {
    // A file that is not one this tool writes is the state's damage; an error of the system (a permission, a file
    // where a directory should be) is told as such, by the one explainer, and never as a reason to discard the state.
    const bytes = await readRegularFile(this.statePath, { what: 'device state', maxBytes: MAX_STATE_BYTES }).catch((error: Error) => {
      throw error instanceof NotARegularFileError ? this.unreadable(error.message) : error;
    });
    if (!bytes) return emptyState;
    let parsed: StoredState;
    try {
      parsed = readStoredState(JSON.parse(bytes.toString('utf8')));
    } catch (error) {
      if (error instanceof SyntaxError || error instanceof StateShapeError) throw this.unreadable(`${this.statePath} is not a state this tool wrote: ${error.message}`);
      throw error;
    }
    const format = parsed.formatVersion;
    if (format > STATE_FORMAT_VERSION) {
      throw new DeviceStateError(`device state ${this.statePath} has format ${format}, newer than this fioup-offline reads (${STATE_FORMAT_VERSION}): use the fioup-offline that wrote it`);
    }
    const pending = parsed.pending;
    return {
      current: parsed.current,
      pending: pending && format === 1 ? migratePendingV1(pending as PendingInstallationV1) : pending as PendingInstallation | undefined,
      failedTargets: parsed.failedTargets,
    };
  }

  /** Never a fresh device in disguise: the way out is the technician's decision (docs/device-guide.md, Troubleshooting). */
  private unreadable(why: string): DeviceStateError {
    return new DeviceStateError(`device state unreadable: ${why}. Nothing was changed. If the file cannot be restored, move it aside ` +
      `(mv ${this.statePath} ${this.statePath}.bad): the device then starts again from the target aktualizr-lite recorded, or its initial ` +
      'target, and forgets which targets failed before');
  }

  async save(state: DeviceState): Promise<void> {
    await writeJsonAtomic(this.statePath, { formatVersion: STATE_FORMAT_VERSION, ...state });
    await this.aktualizr?.record(state);
    await this.writeCurrentTarget(state.current);
  }

  /** aktualizr-lite's fields, in its order (liteclient.cc writeCurrentTarget); the `_SHA` ones only when the target has them. */
  private async writeCurrentTarget(current: TargetRecord | undefined): Promise<void> {
    if (!current) return;
    const fields: [string, string | undefined][] = [
      ['TARGET_NAME', current.name],
      ['CUSTOM_VERSION', isInitialTarget(current) ? '' : String(current.version)],
      ['LMP_MANIFEST_SHA', current.lmpManifestSha],
      ['META_SUBSCRIBER_OVERRIDES_SHA', current.metaSubscriberOverridesSha],
      ['CONTAINERS_SHA', current.containersSha],
      ['TAG', (current.tags ?? []).join(',')],
    ];
    const lines = fields.flatMap(([name, value]) => (value === undefined ? [] : [`${name}="${shellQuoted(value)}"`]));
    await writeFileAtomic(this.currentTargetPath, `${lines.join('\n')}\n`);
  }
}

/** Devices in the field may hold a format-1 installation pending across the upgrade of this tool: it becomes a plan. */
function migratePendingV1({ changes, rootfs, ...rest }: PendingInstallationV1): PendingInstallation {
  const parts: PlanPart[] = [];
  if (rootfs) parts.push({ kind: 'rootfs', commit: rootfs.commit, previousCommit: rootfs.previousCommit });
  if (changes.length > 0) parts.push({ kind: 'apps', changes });
  return { ...rest, parts };
}

/**
 * The state of a device that has sql.db: aktualizr-lite's current target wins over this tool's record of it (it may
 * have updated the device online since), unless it is the target this tool just finished, whose row a crash kept
 * from being written (the row is still pending); this tool's record is kept when it is the same target, for the apps
 * it knows. The failed targets of both count.
 */
function withAktualizrRecords(own: DeviceState, recorded: RecordedTargets): DeviceState {
  const sameTarget = (a: TargetRecord | undefined, b: { name: string; sha256: string } | undefined) => !!a && !!b && a.name === b.name && a.sha256 === b.sha256;
  const finishedHere = sameTarget(own.current, recorded.pending) && !sameTarget(openPending(own)?.target, recorded.pending);
  const current = !recorded.current || sameTarget(own.current, recorded.current) || finishedHere ? own.current : recorded.current;
  return { ...own, current, failedTargets: [...new Set([...own.failedTargets, ...recorded.failed])] };
}

/** For a shell that sources the file: inside double quotes only these four characters are special. */
function shellQuoted(value: string): string {
  return value.replace(/[\\"$`]/g, (character) => `\\${character}`);
}
