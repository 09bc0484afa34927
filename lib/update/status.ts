import type { DeviceEnvironment } from '../device/environment.js';
import { failureReason, UpdateHistory, type HistoryEntry } from '../device/history.js';
import type { TargetRecord } from '../device/state.js';
import type { DockerEngine } from '../docker/engine.js';
import { appStatus, projectImages, type AppStatus } from './app-status.js';
import type { PendingInstallation } from './plan.js';

export interface DeviceStatus {
  readonly current: TargetRecord | undefined;
  readonly pending: PendingInstallation | undefined;
  readonly failedTargets: readonly string[];
  /** Why each failed target failed, where the history still says. */
  readonly failureReasons: Readonly<Record<string, string>>;
  /** The last updates, newest first. */
  readonly history: readonly HistoryEntry[];
  readonly apps: readonly (AppStatus & { readonly imagesPresent: boolean })[];
}

const HISTORY_SHOWN = 10;

/**
 * `status`: the device state, the last updates and, for each app of the current target, its containers and whether
 * its images are loaded.
 */
export async function deviceStatus(env: DeviceEnvironment): Promise<DeviceStatus> {
  const { engine, files: { apps: dirs } } = env;
  const state = await env.files.state.load();
  const apps = [];
  for (const app of state.current?.apps ?? []) {
    const status = await appStatus(engine, app);
    apps.push({ ...status, imagesPresent: await imagesPresent(engine, dirs.current(app.name)) });
  }
  const history = await UpdateHistory.of(env.files.state).load();
  const failureReasons: Record<string, string> = {};
  for (const name of state.failedTargets) {
    const reason = failureReason(history, name);
    if (reason) failureReasons[name] = reason;
  }
  return { current: state.current, pending: state.pending, failedTargets: state.failedTargets, failureReasons, history: history.slice(-HISTORY_SHOWN).reverse(), apps };
}

async function imagesPresent(engine: DockerEngine, projectDir: string): Promise<boolean> {
  const images = await projectImages(projectDir);
  for (const image of images) if (!(await engine.imageIdOf(image))) return false;
  return images.length > 0;
}
