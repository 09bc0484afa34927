import { platformOfArch, type Platform } from '../apps/platform.js';
import { loadDeviceConfig, type DeviceConfig } from '../config/device-config.js';
import { Compose, detectCompose } from '../docker/compose.js';
import { DockerEngine } from '../docker/engine.js';
import { ignoreProgress, type ProgressListener } from '../progress.js';
import { Rootfs } from '../rootfs/rootfs.js';
import { AppDirectories } from './app-dirs.js';
import { DeviceStateStore } from './state.js';

/** The device's own files: its state (and lock) under `[storage] path`, its compose projects. */
export interface DeviceFiles {
  readonly state: DeviceStateStore;
  readonly apps: AppDirectories;
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
  readonly onProgress: ProgressListener;
  /** How long `run` waits for the apps to be running and healthy. */
  readonly startTimeoutMs: number;
}

export interface EnvironmentOptions {
  readonly onProgress?: ProgressListener;
}

export function deviceEnvironment(config: DeviceConfig, options: EnvironmentOptions = {}): DeviceEnvironment {
  const engine = new DockerEngine();
  let compose: Promise<Compose> | undefined;
  return {
    config,
    files: { state: new DeviceStateStore(config.storagePath), apps: new AppDirectories(config.composeAppsRoot) },
    engine,
    platform: platformOfArch(),
    rootfs: Rootfs.fromConfig(config),
    compose: () => (compose ??= detectCompose().then((flavour) => new Compose(flavour, engine))),
    onProgress: options.onProgress ?? ignoreProgress,
    startTimeoutMs: config.startTimeoutSeconds * 1000,
  };
}

/** Reads the configuration from `configPaths` (aktualizr-lite's order) and builds the environment on it. */
export async function loadDeviceEnvironment(configPaths: readonly string[], options: EnvironmentOptions = {}): Promise<DeviceEnvironment> {
  return deviceEnvironment(await loadDeviceConfig(configPaths), options);
}
