import type { DeviceConfig } from '../config/device-config.js';
import type { PendingInstallation, TargetRecord } from '../device/state.js';
import type { DockerEngine } from '../docker/engine.js';
import { appStatus, projectImages, type AppStatus } from './app-status.js';
import { deviceFiles } from './services.js';

export interface DeviceStatus {
  readonly current: TargetRecord | undefined;
  readonly pending: PendingInstallation | undefined;
  readonly failedTargets: readonly string[];
  readonly apps: readonly (AppStatus & { readonly imagesPresent: boolean })[];
}

/** `status`: the device state and, for each app of the current target, its containers and whether its images are loaded. */
export async function deviceStatus(config: DeviceConfig, engine: DockerEngine): Promise<DeviceStatus> {
  const { state: store, apps: dirs } = deviceFiles(config);
  const state = await store.load();
  const apps = [];
  for (const app of state.current?.apps ?? []) {
    const status = await appStatus(engine, app);
    apps.push({ ...status, imagesPresent: await imagesPresent(engine, dirs.current(app.name)) });
  }
  return { current: state.current, pending: state.pending, failedTargets: state.failedTargets, apps };
}

async function imagesPresent(engine: DockerEngine, projectDir: string): Promise<boolean> {
  const images = await projectImages(projectDir);
  for (const image of images) if (!(await engine.imageIdOf(image))) return false;
  return images.length > 0;
}
