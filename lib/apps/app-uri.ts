import { InvalidMetadataError } from '../errors.js';
import { safePathComponent } from '../medium/safe-path.js';
import { isDigest } from './descriptor.js';

/** `<repository>@sha256:<hex>`: an app or an image pinned by digest. */
export interface PinnedReference {
  readonly reference: string;
  /** `<host>/<path>`, without the digest. */
  readonly repository: string;
  readonly digest: string;
}

/** A Compose App reference from a trusted target: `hub.foundries.io/<factory>/<app>@sha256:<hex>`. */
export interface AppUri extends PinnedReference {
  /** The text after the last `/` of the repository: the app's name and its directory name. */
  readonly name: string;
}

// Docker's reference grammar: a host (with optional port), then lowercase path components.
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REPOSITORY = new RegExp(`^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]+)?(?:/${PATH_COMPONENT})+$`);

/** Splits `<host>/<path>@sha256:<hex>`; undefined when the text is not of that form (a tag, no host, bad digest). */
export function parsePinnedReference(reference: string): PinnedReference | undefined {
  const at = reference.lastIndexOf('@');
  if (at < 0) return undefined;
  const repository = reference.slice(0, at);
  const digest = reference.slice(at + 1);
  if (!isDigest(digest) || !REPOSITORY.test(repository)) return undefined;
  return { reference, repository, digest };
}

/**
 * Parses an app URI of `custom.docker_compose_apps.<app>.uri`. The digest is mandatory (it anchors the app's
 * hash chain in TUF). The name becomes a directory name, so it must be a safe path component.
 */
export function parseAppUri(uri: string): AppUri {
  const pinned = parsePinnedReference(uri);
  if (!pinned) throw new InvalidMetadataError(`app URI ${JSON.stringify(uri)} is not <host>/<path>@sha256:<64 hex>`);
  const name = safePathComponent(pinned.repository.slice(pinned.repository.lastIndexOf('/') + 1), `app name in ${JSON.stringify(uri)}`);
  return { ...pinned, name };
}
