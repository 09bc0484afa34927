import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FactoryBuild } from '../../fixtures/factory.js';
import { runTool } from '../../fixtures/oci/tools.js';
import { commitObjectPath } from '../../lib/medium/layout.js';
import { simulatedDevice, type SimulatedDevice } from '../rootfs/helpers.js';
import { createTestDevice, type TestDevice } from './device.js';

/** An LmP device: a real sysroot booted on a commit, and the device's config pointing at it as an OSTree device. */
export interface OstreeTestDevice {
  readonly device: TestDevice;
  readonly sysroot: SimulatedDevice;
  /** Both temporary directories, for removeDevice. */
  readonly roots: readonly string[];
}

/**
 * A device of `factory` booted on `bootedCommit` (pulled from `repo`, by default the factory's ostree_repo), configured
 * with `toml` snippets beyond the factory's (a hardware id of its own, apps, a callback...).
 */
export async function ostreeTestDevice(factory: FactoryBuild, bootedCommit: string, options: { toml?: string; repo?: string } = {}): Promise<OstreeTestDevice> {
  const sysroot = await simulatedDevice(options.repo ?? factory.dirs.ostreeRepo, bootedCommit);
  const device = await createTestDevice(factory);
  await device.configure('60-ostree.toml', [
    '[offline]', 'ostree = true', `kernel_cmdline = "${sysroot.config.kernelCmdline}"`, '[bootloader]', `reboot_sentinel_dir = "${sysroot.runtimeDir}"`,
    '[pacman]', `sysroot = "${sysroot.config.sysroot}"`, 'os = "lmp"', '',
  ].join('\n'));
  if (options.toml) await device.configure('70-scenario.toml', options.toml);
  return { device, sysroot, roots: [sysroot.root, device.root] };
}

/** A copy of a medium to damage (`cp -a`: the bytes, modes and times as they are). */
export async function copyMedium(medium: string, to: string): Promise<string> {
  await runTool('cp', ['-a', medium, to]);
  return to;
}

/**
 * Removes an app from a medium's app store, as aklite_offline_test.cc removes `apps/<app>`: every version of it, or
 * the one of `manifestHex`.
 */
export async function removeAppFromMedium(medium: string, app: string, manifestHex?: string): Promise<void> {
  await rm(join(medium, 'apps', 'apps', app, ...(manifestHex ? [manifestHex] : [])), { recursive: true });
}

/** Removes a commit object from a medium's ostree_repo, as aklite_offline_test.cc's removeCommitObject. */
export async function removeCommitFromMedium(medium: string, commit: string): Promise<void> {
  await rm(join(medium, 'ostree_repo', commitObjectPath(commit)));
}
