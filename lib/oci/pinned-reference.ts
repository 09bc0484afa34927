import { isDigest } from './digest.js';

/** An image as a compose file pins it: `<registry>/<path>@sha256:<hex>`. */
export interface PinnedReference {
  readonly reference: string;
  /** `<registry>/<path>`, without the digest. */
  readonly repository: string;
  readonly digest: string;
}

// Docker's reference grammar: a registry host (with optional port), then lowercase path components.
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REPOSITORY = new RegExp(`^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?(?:/${PATH_COMPONENT})+$`);

/** Splits `<registry>/<path>@sha256:<hex>`; undefined when the text is not of that form (a tag, no registry, bad digest). */
export function parsePinnedReference(reference: string): PinnedReference | undefined {
  const at = reference.lastIndexOf('@');
  if (at < 0) return undefined;
  const repository = reference.slice(0, at);
  const digest = reference.slice(at + 1);
  if (!isDigest(digest) || !REPOSITORY.test(repository)) return undefined;
  return { reference, repository, digest };
}
