import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidMetadataError } from '../errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../fs/atomic.js';

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

export type AppChangeKind = 'new' | 'updated' | 'unchanged' | 'removed' | 'disabled';

/** What an update does to one app, decided by `install` and carried out by `run`. */
export interface AppChange {
  readonly name: string;
  readonly kind: AppChangeKind;
  /** What runs now (updated, unchanged, removed, disabled). */
  readonly from: AppRecord | undefined;
  /** What the target runs (new, updated, unchanged). */
  readonly to: AppRecord | undefined;
}

/** Where an installation stands; `run` resumes from here after a crash or restart. */
export type PendingPhase = 'staged' | 'switching' | 'rolling-back';

export interface PendingInstallation {
  readonly target: TargetRecord;
  readonly previous: TargetRecord | undefined;
  readonly changes: readonly AppChange[];
  readonly phase: PendingPhase;
  /** The target that failed on its new rootfs, when this installation puts the previous target back. */
  readonly rollbackOf?: string;
  /** OSTree devices: the commit to boot and the one to fall back to. */
  readonly rootfs?: { readonly commit: string; readonly previousCommit: string };
  readonly installedAt: string;
}

export interface DeviceState {
  readonly current: TargetRecord | undefined;
  readonly pending: PendingInstallation | undefined;
  /** Targets whose installation failed and was rolled back: not offered again without --force. */
  readonly failedTargets: string[];
}

const emptyState: DeviceState = { current: undefined, pending: undefined, failedTargets: [] };

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
    try {
      const parsed = JSON.parse(text) as DeviceState;
      return { current: parsed.current ?? undefined, pending: parsed.pending ?? undefined, failedTargets: parsed.failedTargets ?? [] };
    } catch (error) {
      throw new InvalidMetadataError(`device state ${this.statePath} is unreadable: ${(error as Error).message}`);
    }
  }

  async save(state: DeviceState): Promise<void> {
    await writeJsonAtomic(this.statePath, state);
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

function shellSafe(value: string): string {
  return value.replace(/[^A-Za-z0-9._+-]/g, '_');
}
