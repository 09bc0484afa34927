import { parse, stringify } from 'yaml';
import { InvalidMetadataError } from '../errors.js';
import type { PinnedReference } from '../oci/pinned-reference.js';
import { localImageTag } from './image-ref.js';

/** The file name both compose implementations merge over `docker-compose.yml` without being told. */
export const COMPOSE_OVERRIDE_FILE = 'docker-compose.override.yml';

/**
 * The `docker-compose.override.yml` that makes an app's digest-pinned services run the images loaded under
 * their local tags (`localImageTag`): Docker cannot resolve `<repo>@sha256:...` for loaded images offline.
 * `servicePins` maps each service name to the pinned image its compose file gives. When the app ships an override
 * of its own (`appOverride`), the pins are merged into it, so that its other settings still apply. No `version`
 * key is added: compose v2 ignores it, and docker-compose 1.29 merges a version-less override over any base version.
 */
export function composeOverrideYaml(servicePins: Readonly<Record<string, Pick<PinnedReference, 'repository' | 'digest'>>>, appOverride?: string): string {
  const document = appOverride === undefined ? {} : parseOverride(appOverride);
  const services = (document.services ??= {});
  for (const [service, pinned] of Object.entries(servicePins)) {
    services[service] = { ...services[service], image: localImageTag(pinned).reference };
  }
  return stringify(document);
}

type OverrideDocument = { services?: Record<string, Record<string, unknown> | null> } & Record<string, unknown>;

function parseOverride(text: string): OverrideDocument {
  const document = parse(text, { uniqueKeys: true, merge: true, maxAliasCount: 100 }) as unknown;
  const isMap = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value);
  const services = (document as OverrideDocument | null)?.services;
  if (!isMap(document) || (services !== undefined && !isMap(services))) {
    throw new InvalidMetadataError(`the app's own ${COMPOSE_OVERRIDE_FILE} is not a compose file`);
  }
  return document as OverrideDocument;
}
