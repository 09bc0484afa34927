import { platformOfArch, type Platform } from '../apps/platform.js';
import { loadDeviceConfig, type DeviceConfig } from '../config/device-config.js';
import { Compose, detectCompose } from '../docker/compose.js';
import { DockerEngine } from '../docker/engine.js';
import { ignoreProgress, type ProgressListener } from '../progress.js';
import { Rootfs } from '../rootfs/rootfs.js';
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
}

export function deviceEnvironment(config: DeviceConfig, options: EnvironmentOptions = {}): DeviceEnvironment {
  const engine = new DockerEngine();
  const onProgress = options.onProgress ?? ignoreProgress;
  const warn = (message: string) => onProgress({ type: 'warning', message });
  for (const warning of config.warnings) warn(warning);
  const state = new DeviceStateStore(config.storagePath);
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
    rootfs: Rootfs.fromConfig(config),
    compose: () => (compose ??= detectCompose().then((flavour) => new Compose(flavour, engine))),
    callbacks: new CallbackProgram(config.callbackProgram, state.currentTargetPath, warn),
    lock: () => acquireUpdateLocks(files.locks),
    onProgress,
    startTimeoutMs: config.startTimeoutSeconds * 1000,
  };
}

/**
 * Reads the configuration from `configPaths` (aktualizr-lite's order; `explicit` when they were named on the command
 * line, so each must exist) and builds the environment on it.
 */
export async function loadDeviceEnvironment(configPaths: readonly string[], options: EnvironmentOptions & { readonly explicit?: boolean } = {}): Promise<DeviceEnvironment> {
  return deviceEnvironment(await loadDeviceConfig(configPaths, { explicit: options.explicit ?? false }), options);
}
