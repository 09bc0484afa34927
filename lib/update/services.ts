import type { DeviceConfig } from '../config/device-config.js';
import { DeviceStateStore } from '../device/state.js';
import type { DockerEngine } from '../docker/engine.js';
import type { Platform } from '../apps/platform.js';
import type { ProgressListener } from '../progress.js';
import type { Rootfs } from '../rootfs/rootfs.js';
import { AppDirectories } from './app-dirs.js';

/** What the install and run pipelines work with: the device's config and files, its engine, and a listener. */
export interface UpdateEnvironment {
  readonly config: DeviceConfig;
  readonly engine: DockerEngine;
  readonly platform: Platform;
  readonly rootfs: Rootfs;
  readonly onProgress: ProgressListener;
  /** How long `run` waits for the apps to be running and healthy. */
  readonly startTimeoutMs: number;
}

export function deviceFiles(config: DeviceConfig): { state: DeviceStateStore; apps: AppDirectories } {
  return { state: new DeviceStateStore(config.storagePath), apps: new AppDirectories(config.composeAppsRoot) };
}
