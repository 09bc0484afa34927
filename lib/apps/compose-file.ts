import { parse } from 'yaml';
import { ContentVerificationError } from '../errors.js';
import { requireObject } from '../oci/json.js';
import { parsePinnedReference, type PinnedReference } from '../oci/pinned-reference.js';

/** The compose file's name inside an app archive. */
export const COMPOSE_FILE_NAME = 'docker-compose.yml';
export const MAX_COMPOSE_FILE_BYTES = 1024 * 1024;

export interface ComposeService {
  readonly name: string;
  readonly image: PinnedReference;
}

/**
 * Lists the services of a compose file and their images. Every image must be pinned by digest
 * (`<registry>/<path>@sha256:<hex>`): the digest is the next link of the app's hash chain, a tag would break it.
 */
export function parseComposeFile(text: string, what: string): ComposeService[] {
  let document: unknown;
  try {
    document = parse(text, { uniqueKeys: true, merge: true, maxAliasCount: 100, prettyErrors: false });
  } catch (error) {
    throw new ContentVerificationError(`${what}: not valid YAML (${(error as Error).message})`, { cause: error });
  }
  const services = requireObject(requireObject(document, what).services, `${what} services`);
  const entries = Object.entries(services);
  if (entries.length === 0) throw new ContentVerificationError(`${what}: defines no service`);
  return entries.map(([name, service]) => {
    const image = requireObject(service, `${what} service ${JSON.stringify(name)}`).image;
    const pinned = typeof image === 'string' ? parsePinnedReference(image) : undefined;
    if (!pinned) {
      throw new ContentVerificationError(`${what}: service ${JSON.stringify(name)} has image ${JSON.stringify(image)}, not pinned as <registry>/<path>@sha256:<hex>`);
    }
    return { name, image: pinned };
  });
}
