import type { AppUri } from './app-uri.js';

/** Facts about what content a medium holds, gathered once (by whoever reads the medium) so that target selection stays a pure function. */
export interface MediumPresence {
  /** Apps present in the app store, as `appPresenceKey` values. */
  readonly apps: ReadonlySet<string>;
  /** OSTree commits present in the medium's OSTree repo, lowercase hex. */
  readonly commits: ReadonlySet<string>;
  /** Present apps whose images the medium lacks for the device's platform (`appPresenceKey` values), and that platform. */
  readonly withoutPlatform?: { readonly platform: string; readonly apps: ReadonlySet<string> };
}

export function appPresenceKey(app: AppUri): string {
  return `${app.name}@${app.manifestHex}`;
}
