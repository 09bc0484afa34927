import { stringify } from 'yaml';
import { localImageTag, type PinnedImage } from './image-ref.js';

/** The file name both compose implementations merge over `docker-compose.yml` without being told. */
export const COMPOSE_OVERRIDE_FILE = 'docker-compose.override.yml';

/**
 * The `docker-compose.override.yml` that makes an app's digest-pinned services run the images loaded under
 * their local tags (`localImageTag`): Docker cannot resolve `<repo>@sha256:...` for loaded images offline.
 * `servicePins` maps each service name to the pinned image its compose file gives. No `version` key: compose v2
 * ignores it, and docker-compose 1.29 merges a version-less override over any base version.
 */
export function composeOverrideYaml(servicePins: Readonly<Record<string, PinnedImage>>): string {
  const services: Record<string, { image: string }> = {};
  for (const [service, pinned] of Object.entries(servicePins)) {
    services[service] = { image: localImageTag(pinned).reference };
  }
  return stringify({ services });
}
