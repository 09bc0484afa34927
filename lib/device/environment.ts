import { AktualizrTrustStore } from '../aktualizr/db-trust.js';
import { withAktualizrIdentity } from '../aktualizr/identity.js';
import { AktualizrRecords } from '../aktualizr/installed-versions.js';
import { AktualizrDatabase } from '../aktualizr/sql-db.js';
import { platformOfArch, type Platform } from '../apps/platform.js';
import { loadDeviceConfig, type DeviceConfig } from '../config/device-config.js';
import { Compose, detectCompose } from '../docker/compose.js';
import { DockerEngine } from '../docker/engine.js';
import { ignoreProgress, type ProgressListener } from '../progress.js';
import { Bootloader } from '../rootfs/bootloader.js';
import { RebootSentinel } from '../rootfs/reboot-sentinel.js';
import { Rootfs } from '../rootfs/rootfs.js';
import { DeviceTrustStore, type TrustStore } from '../tuf/device-trust.js';
import { AppDirectories } from './app-dirs.js';
import { CallbackProgram } from './callbacks.js';
import { acquireUpdateLocks, type HeldLock } from './lock.js';
import { DeviceStateStore } from './state.js';

/** The device's own files: its state under `[storage] path`, its compose projects, the locks updates hold. */
export interface DeviceFiles {
  readonly state: DeviceStateStore;
  readonly apps: AppDirectories;
  readonly locks: { readonly device: string; readonly aktualizrLite: string };
}

/**
 * Everything the device pipelines (check, install, run, status) work with, built once from the configuration: the
 * composition root that the CLI uses, and that a daemon serving several commands could keep.
 */
export interface DeviceEnvironment {
  readonly config: DeviceConfig;
  readonly files: DeviceFiles;
  readonly engine: DockerEngine;
  readonly platform: Platform;
  readonly rootfs: Rootfs;
  readonly bootloader: Bootloader;
  /** Where the device's trust is kept: aktualizr-lite's sql.db when the device has one, else this tool's files. A new one per check-in. */
  trustStore(): TrustStore;
  /** The compose implementation of the device, detected on first use (commands that start no app never ask). */
  compose(): Promise<Compose>;
  readonly callbacks: CallbackProgram;
  /** Takes the locks a command that changes the device holds until it ends (LockedError when another holds one). */
  lock(): Promise<HeldLock>;
  readonly onProgress: ProgressListener;
  /** How long `run` waits for the apps to be running and healthy. */
  readonly startTimeoutMs: number;
}

export interface EnvironmentOptions {
  readonly onProgress?: ProgressListener;
  /** aktualizr-lite's sql.db, on a device that has one: the device's truth for its trust and targets (docs/formats.md section 10). */
  readonly aktualizrDatabase?: AktualizrDatabase;
}

export function deviceEnvironment(config: DeviceConfig, options: EnvironmentOptions = {}): DeviceEnvironment {
  const engine = new DockerEngine();
  const onProgress = options.onProgress ?? ignoreProgress;
  const warn = (message: string) => onProgress({ type: 'warning', message });
  for (const warning of config.warnings) warn(warning);
  const database = options.aktualizrDatabase;
  const state = new DeviceStateStore(config.storagePath, database && new AktualizrRecords(database, config.hardwareId));
  const needReboot = database && { set: (needed: boolean) => database.update((writer) => writer.setNeedReboot(needed)) };
  const files: DeviceFiles = {
    state,
    apps: new AppDirectories(config.composeAppsRoot),
    locks: { device: state.lockPath, aktualizrLite: config.akliteLockPath },
  };
  let compose: Promise<Compose> | undefined;
  return {
    config,
    files,
    engine,
    platform: platformOfArch(),
    rootfs: Rootfs.fromConfig(config, new RebootSentinel(config.bootloader.rebootSentinel, needReboot)),
    bootloader: new Bootloader(config.bootloader.rollbackMode),
    trustStore: () => (database
      ? new AktualizrTrustStore(database, { rootsDir: config.rootsDir, deviceType: config.deviceType })
      : new DeviceTrustStore({ rootsDir: config.rootsDir, deviceType: config.deviceType, storageDir: config.storagePath })),
    compose: () => (compose ??= detectCompose().then((flavour) => new Compose(flavour, engine))),
    callbacks: new CallbackProgram(config.callbackProgram, state.currentTargetPath, warn),
    lock: () => acquireUpdateLocks(files.locks),
    onProgress,
    startTimeoutMs: config.startTimeoutSeconds * 1000,
  };
}

/**
 * Reads the configuration from `configPaths` (aktualizr-lite's order; `explicit` when they were named on the command
 * line, so each must exist), and sql.db when the device has one (its hardware id and certificate count as aktualizr-lite
 * counts them), and builds the environment on it.
 */
export async function loadDeviceEnvironment(configPaths: readonly string[], options: EnvironmentOptions & { readonly explicit?: boolean } = {}): Promise<DeviceEnvironment> {
  const config = await loadDeviceConfig(configPaths, { explicit: options.explicit ?? false });
  const database = AktualizrDatabase.of(config.storagePath, config.sqldbPath);
  const aktualizr = (await database.exists()) ? await database.read() : undefined;
  return deviceEnvironment(withAktualizrIdentity(config, aktualizr), { ...options, ...(aktualizr ? { aktualizrDatabase: database } : {}) });
}
