import type { PinnedReference } from '../oci/pinned-reference.js';

export interface LocalImageTag {
  repository: string;
  tag: string;
  /** `<repository>:<tag>`, what a compose override's `image:` says. */
  reference: string;
}

/**
 * The local tag under which fioup-offline loads a pinned image. Docker gives loaded images no repo digest, so
 * compose cannot resolve `<repo>@sha256:...` offline; a tag carrying the whole digest stands in for it and,
 * unlike composectl's 7-hex tags, cannot name two different images.
 */
export function localImageTag(pinned: Pick<PinnedReference, 'repository' | 'digest'>): LocalImageTag {
  const tag = pinned.digest.replace(':', '-');
  return { repository: pinned.repository, tag, reference: `${pinned.repository}:${tag}` };
}
