import { appUriPath, mediumCommitObjectPath } from '../medium/layout.js';
import type { Medium } from '../medium/medium.js';
import type { AppUri } from './app-uri.js';

/** Facts about what content a medium holds, gathered once so that target selection stays a pure function. */
export interface MediumPresence {
  /** Apps present in the app store, as `appPresenceKey` values. */
  readonly apps: ReadonlySet<string>;
  /** OSTree commits present in `ostree_repo/`, lowercase hex. */
  readonly commits: ReadonlySet<string>;
}

export function appPresenceKey(app: AppUri): string {
  return `${app.name}@${app.manifestHex}`;
}

const commitPattern = /^[0-9a-f]{64}$/;

/**
 * Looks up the given apps (present when their app-store directory holds a `uri` file) and OSTree commits
 * (present when `ostree_repo/objects/<2 hex>/<62 hex>.commit` exists). Only names validated by lib/targets
 * reach the medium: app names are safe path components and digests are hex.
 */
export async function collectMediumPresence(medium: Medium, apps: Iterable<AppUri>, commits: Iterable<string>): Promise<MediumPresence> {
  const presentApps = new Set<string>();
  for (const app of apps) {
    const key = appPresenceKey(app);
    if (presentApps.has(key)) continue;
    if ((await medium.stat(appUriPath(app)))?.type === 'file') presentApps.add(key);
  }
  const presentCommits = new Set<string>();
  for (const commit of commits) {
    if (!commitPattern.test(commit) || presentCommits.has(commit)) continue;
    if ((await medium.stat(mediumCommitObjectPath(commit)))?.type === 'file') presentCommits.add(commit);
  }
  return { apps: presentApps, commits: presentCommits };
}
