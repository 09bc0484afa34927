import type { DeviceEnvironment } from '../device/environment.js';
import { failureReason, UpdateHistory, type HistoryEntry } from '../device/history.js';
import type { TargetRecord } from '../device/state.js';
import type { DockerEngine } from '../docker/engine.js';
import { EngineUnavailableError } from '../errors.js';
import { appStatus, projectImages, type AppStatus } from './app-status.js';
import { requireEngineForApps } from './check-in.js';
import type { PendingInstallation } from './plan.js';

export interface DeviceStatus {
  /** null (not absent) when there is none, so that readers of the JSON find the key. */
  readonly current: TargetRecord | null;
  readonly pending: PendingInstallation | null;
  readonly failedTargets: readonly string[];
  /** Why each failed target failed, where the history still says. */
  readonly failureReasons: Readonly<Record<string, string>>;
  /** The last updates, newest first. */
  readonly history: readonly HistoryEntry[];
  /** Why the apps' states are unknown (Docker does not answer); null when Docker answered, or apps are not managed. */
  readonly docker: { readonly problem: string } | null;
  /** `imagesPresent` is null when Docker does not answer. */
  readonly apps: readonly (AppStatus & { readonly imagesPresent: boolean | null })[];
  /** The configuration files read. */
  readonly configFiles: readonly string[];
}

const HISTORY_SHOWN = 10;

/**
 * `status`: the device state, the last updates and, for each app of the current target, its containers and whether
 * its images are loaded. Without Docker, the device state all the same, its apps marked unknown. A device whose apps
 * are not managed (`[pacman] type = "ostree"`) is not asked about Docker.
 */
export async function deviceStatus(env: DeviceEnvironment): Promise<DeviceStatus> {
  const { engine, files: { apps: dirs } } = env;
  const state = await env.files.state.load();
  const docker = await requireEngineForApps(env).then(() => null, (error: unknown) => {
    if (!(error instanceof EngineUnavailableError)) throw error;
    return { problem: error.message };
  });
  const apps = [];
  for (const app of state.current?.apps ?? []) {
    if (docker) {
      apps.push({ name: app.name, uri: app.uri, state: 'unknown' as const, containers: [], imagesPresent: null });
      continue;
    }
    const status = await appStatus(engine, app);
    apps.push({ ...status, imagesPresent: await imagesPresent(engine, dirs.current(app.name)) });
  }
  const history = await UpdateHistory.of(env.files.state).load();
  const failureReasons: Record<string, string> = {};
  for (const name of state.failedTargets) {
    const reason = failureReason(history, name);
    if (reason) failureReasons[name] = reason;
  }
  return {
    current: state.current ?? null,
    pending: state.pending ?? null,
    failedTargets: state.failedTargets,
    failureReasons,
    history: history.slice(-HISTORY_SHOWN).reverse(),
    docker,
    apps,
    configFiles: env.config.files,
  };
}

async function imagesPresent(engine: DockerEngine, projectDir: string): Promise<boolean> {
  const images = await projectImages(projectDir);
  for (const image of images) if (!(await engine.imageIdOf(image))) return false;
  return images.length > 0;
}
