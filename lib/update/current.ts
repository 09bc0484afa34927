import type { DeviceEnvironment } from '../device/environment.js';
import { initialTarget, isInitialTarget } from '../device/state.js';

export interface CurrentTarget {
  readonly name: string;
  /** Undefined for the initial target, which has no version. */
  readonly version: number | undefined;
  /** The target's `hashes.sha256`: the OSTree commit it boots. */
  readonly ostreeHash: string;
  /** The target's apps this device was given, each on (enabled in `[pacman] compose_apps`) or off. */
  readonly apps: readonly { readonly name: string; readonly uri: string; readonly on: boolean }[];
  /** No update was recorded on this device: the target is the factory image's (booted rootfs, preloaded apps). */
  readonly initial: boolean;
}

/** `current`, as aklite-offline's: the target the device runs, recorded or (before any update) the initial one. Reads only. */
export async function currentTarget(env: DeviceEnvironment): Promise<CurrentTarget> {
  const { current } = await env.files.state.load();
  const target = current ?? initialTarget(await env.rootfs.bootedCommitIfOstree(), await env.files.apps.installed());
  return {
    name: target.name,
    version: isInitialTarget(target) ? undefined : target.version,
    ostreeHash: target.sha256,
    apps: [
      ...target.apps.map((app) => ({ ...app, on: true })),
      ...(target.disabledApps ?? []).map((app) => ({ ...app, on: false })),
    ].sort((a, b) => a.name.localeCompare(b.name)),
    initial: isInitialTarget(target),
  };
}
