import { InvalidMetadataError } from '../errors.js';

/** An image reference pinned by digest, as app compose files write it: `<registry>/<path>@sha256:<hex>`. */
export interface PinnedImage {
  /** `<registry>/<path>`, without any tag. */
  repository: string;
  /** `sha256:<64 hex>` */
  digest: string;
}

export interface LocalImageTag {
  repository: string;
  tag: string;
  /** `<repository>:<tag>`, what a compose override's `image:` says. */
  reference: string;
}

const PINNED = /^(?<repository>[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)(?::[\w][\w.-]{0,127})?@(?<digest>sha256:[0-9a-f]{64})$/;

/** Parses a digest-pinned reference; a tag before the digest is allowed and dropped (the digest decides). */
export function parsePinnedImage(reference: string): PinnedImage {
  const match = PINNED.exec(reference);
  if (!match?.groups) throw new InvalidMetadataError(`image reference is not pinned by a sha256 digest: ${reference}`);
  return { repository: match.groups.repository!, digest: match.groups.digest! };
}

/**
 * The local tag under which fioup-offline loads a pinned image. Docker gives loaded images no repo digest, so
 * compose cannot resolve `<repo>@sha256:...` offline; a tag carrying the whole digest stands in for it and,
 * unlike composectl's 7-hex tags, cannot name two different images.
 */
export function localImageTag(pinned: PinnedImage): LocalImageTag {
  const tag = pinned.digest.replace(':', '-');
  return { repository: pinned.repository, tag, reference: `${pinned.repository}:${tag}` };
}
