import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { AppRecord } from '../device/state.js';
import { COMPOSE_FILE_NAME } from '../apps/compose-file.js';
import { COMPOSE_OVERRIDE_FILE } from '../docker/compose-override.js';
import type { DockerEngine, ProjectContainer } from '../docker/engine.js';

/** `unknown`: Docker does not answer (`status` without Docker). */
export type AppState = 'running' | 'healthy' | 'unhealthy' | 'starting' | 'stopped' | 'absent' | 'unknown';

export interface AppStatus {
  readonly name: string;
  readonly uri: string;
  readonly state: AppState;
  readonly containers: readonly ProjectContainer[];
}

export async function appStatus(engine: DockerEngine, app: AppRecord): Promise<AppStatus> {
  const containers = await engine.projectContainers(app.name);
  return { name: app.name, uri: app.uri, state: summarise(containers), containers };
}

/** True when every app has containers and all of them run (and are healthy where they have a healthcheck). */
export async function appsRunning(engine: DockerEngine, apps: readonly AppRecord[]): Promise<boolean> {
  for (const app of apps) {
    const { state } = await appStatus(engine, app);
    if (state !== 'running' && state !== 'healthy') return false;
  }
  return true;
}

function summarise(containers: readonly ProjectContainer[]): AppState {
  if (containers.length === 0) return 'absent';
  if (containers.some((container) => container.status !== 'running')) return 'stopped';
  if (containers.some((container) => container.health === 'unhealthy')) return 'unhealthy';
  if (containers.some((container) => container.health === 'starting')) return 'starting';
  return containers.some((container) => container.health === 'healthy') ? 'healthy' : 'running';
}

/**
 * The images a compose project runs: the local tags of the override install wrote into it, or, for a project this
 * tool did not install (left by aktualizr-lite), the images its compose file names. A file that cannot be read
 * names none.
 */
export async function projectImages(projectDir: string): Promise<string[]> {
  for (const file of [COMPOSE_OVERRIDE_FILE, COMPOSE_FILE_NAME]) {
    const text = await readFile(join(projectDir, file), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    let services: Record<string, { image?: unknown } | null>;
    try {
      services = (parseYaml(text) as { services?: Record<string, { image?: unknown } | null> } | null)?.services ?? {};
    } catch {
      return [];
    }
    return Object.values(services).flatMap((service) => (typeof service?.image === 'string' ? [service.image] : []));
  }
  return [];
}
