import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidMetadataError } from '../errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../fs/atomic.js';
import type { AppChange, PendingInstallation, PlanPart } from '../update/plan.js';

/** An app as a target pins it: name and digest-pinned URI (`<host>/<repo>/<name>@sha256:<hex>`). */
export interface AppRecord {
  readonly name: string;
  readonly uri: string;
}

export interface TargetRecord {
  readonly name: string;
  readonly version: number;
  readonly sha256: string;
  /** The apps of the target that this device runs (enabled in config). */
  readonly apps: AppRecord[];
}

export interface DeviceState {
  readonly current: TargetRecord | undefined;
  readonly pending: PendingInstallation | undefined;
  /** Targets whose installation failed and was rolled back: not offered again without --force. */
  readonly failedTargets: string[];
}

const emptyState: DeviceState = { current: undefined, pending: undefined, failedTargets: [] };

/** The shape of `state.json`: 1 (no `formatVersion` field) kept the app changes and the rootfs beside the target. */
const STATE_FORMAT_VERSION = 2;

/** The device's own files under `[storage] path`; every write is atomic. */
export class DeviceStateStore {
  readonly directory: string;

  constructor(readonly storagePath: string) {
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
    let text: string;
    try {
      text = await readFile(this.statePath, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyState;
      throw error;
    }
    let parsed: StoredState;
    try {
      parsed = JSON.parse(text) as StoredState;
    } catch (error) {
      throw new InvalidMetadataError(`device state ${this.statePath} is unreadable: ${(error as Error).message}`);
    }
    const format = parsed.formatVersion ?? 1;
    if (format > STATE_FORMAT_VERSION) {
      throw new InvalidMetadataError(`device state ${this.statePath} has format ${format}, newer than this fioup-offline reads (${STATE_FORMAT_VERSION}): use the fioup-offline that wrote it`);
    }
    const pending = parsed.pending ?? undefined;
    return {
      current: parsed.current ?? undefined,
      pending: pending && format === 1 ? migratePendingV1(pending as PendingInstallationV1) : pending as PendingInstallation | undefined,
      failedTargets: parsed.failedTargets ?? [],
    };
  }

  async save(state: DeviceState): Promise<void> {
    await writeJsonAtomic(this.statePath, { formatVersion: STATE_FORMAT_VERSION, ...state });
    await this.writeCurrentTarget(state.current);
  }

  private async writeCurrentTarget(current: TargetRecord | undefined): Promise<void> {
    if (!current) return;
    const lines = [
      `TARGET_NAME="${shellSafe(current.name)}"`,
      `CUSTOM_VERSION="${current.version}"`,
      `SHA256="${current.sha256}"`,
      `APPS="${current.apps.map((app) => shellSafe(app.name)).join(',')}"`,
    ];
    await writeFileAtomic(this.currentTargetPath, `${lines.join('\n')}\n`);
  }
}

interface StoredState {
  readonly formatVersion?: number;
  readonly current?: TargetRecord | null;
  readonly pending?: PendingInstallation | PendingInstallationV1 | null;
  readonly failedTargets?: string[];
}

/** A pending installation as format 1 wrote it: the app changes and the rootfs commits as fields of their own. */
interface PendingInstallationV1 extends Omit<PendingInstallation, 'parts'> {
  readonly changes: readonly AppChange[];
  readonly rootfs?: { readonly commit: string; readonly previousCommit: string };
}

/** Devices in the field may hold a format-1 installation pending across the upgrade of this tool: it becomes a plan. */
function migratePendingV1({ changes, rootfs, ...rest }: PendingInstallationV1): PendingInstallation {
  const parts: PlanPart[] = [];
  if (rootfs) parts.push({ kind: 'rootfs', commit: rootfs.commit, previousCommit: rootfs.previousCommit });
  if (changes.length > 0) parts.push({ kind: 'apps', changes });
  return { ...rest, parts };
}

function shellSafe(value: string): string {
  return value.replace(/[^A-Za-z0-9._+-]/g, '_');
}
