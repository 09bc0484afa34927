import { InvalidMetadataError } from '../errors.js';
import { safePathComponent } from '../medium/safe-path.js';

/** A Compose App reference from a target: `<host>/<repo path>/<name>@sha256:<64 hex>`. */
export interface AppUri {
  readonly uri: string;
  readonly host: string;
  /** The repository path after the host, ending with the app name. */
  readonly repository: string;
  /** The text after the last `/`: a safe path component. */
  readonly name: string;
  /** The app manifest's sha256, 64 lowercase hex characters. */
  readonly manifestHex: string;
}

// Registry host (optional port), then docker repository components: lowercase alphanumerics joined by . _ -
const appUriPattern =
  /^([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]{1,5})?)\/((?:[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*\/)*([a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*))@sha256:([0-9a-f]{64})$/;

/** Parses an app URI from (signed but untrusted) target metadata; throws InvalidMetadataError naming `where`. */
export function parseAppUri(uri: unknown, where: string): AppUri {
  const match = typeof uri === 'string' ? appUriPattern.exec(uri) : null;
  if (!match) {
    throw new InvalidMetadataError(`${where}: app URI ${JSON.stringify(uri)} is not <host>/<path>/<name>@sha256:<64 hex>`);
  }
  const [, host, repository, name, manifestHex] = match as unknown as [string, string, string, string, string];
  return { uri: uri as string, host, repository, name: safePathComponent(name, `${where}: app name`), manifestHex };
}
