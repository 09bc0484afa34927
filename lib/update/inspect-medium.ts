import type { DeviceConfig } from '../config/device-config.js';
import type { TargetRecord } from '../device/state.js';
import type { Medium } from '../medium/medium.js';
import { evaluateMedium } from '../targets/evaluate-medium.js';
import type { Selection, SelectionDevice } from '../targets/selection.js';
import { DeviceTrustStore } from '../tuf/device-trust.js';
import { verifyMedium, type VerifiedMedium } from '../tuf/verify-medium.js';

export interface MediumInspection {
  readonly device: SelectionDevice;
  readonly verified: VerifiedMedium;
  readonly selection: Selection;
  readonly trustStore: DeviceTrustStore;
}

export interface InspectOptions {
  readonly current: TargetRecord | undefined;
  /** The booted OSTree commit on OSTree devices; undefined elsewhere. */
  readonly bootedCommit: string | undefined;
  readonly requestedTarget?: string;
  /** The one clock reading of this run. */
  readonly now: Date;
}

/** The part `check` and `install` share: verify the medium's metadata against the device trust, then select. Reads only. */
export async function inspectMedium(config: DeviceConfig, medium: Medium, options: InspectOptions): Promise<MediumInspection> {
  const device: SelectionDevice = {
    hardwareId: config.hardwareId,
    tags: config.tags,
    composeApps: config.enabledApps,
    ...(options.current ? { currentTarget: { name: options.current.name, version: options.current.version } } : {}),
    ...(options.bootedCommit ? { ostree: { bootedCommit: options.bootedCommit } } : {}),
  };
  const trustStore = new DeviceTrustStore({ rootsDir: config.rootsDir, deviceType: config.deviceType, storageDir: config.storagePath });
  const verified = await verifyMedium(medium, await trustStore.load(), { deviceType: config.deviceType, tags: config.tags }, options.now);
  const selection = await evaluateMedium(medium, verified, device, options.requestedTarget);
  return { device, verified, selection, trustStore };
}
