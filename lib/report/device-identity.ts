import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { DeviceConfig } from '../config/device-config.js';

/** Who wrote a report: the factory's names for the device, and the host's. */
export interface DeviceIdentity {
  readonly hardwareId: string;
  /** The device's UUID: the common name of its client certificate, on registered devices. */
  readonly deviceId: string | undefined;
  readonly hostname: string;
  readonly deviceType: string;
  readonly tags: readonly string[];
}

export async function deviceIdentity(config: DeviceConfig): Promise<DeviceIdentity> {
  return {
    hardwareId: config.hardwareId,
    deviceId: config.clientCertificatePath ? await certificateCommonName(config.clientCertificatePath) : undefined,
    hostname: hostname(),
    deviceType: config.deviceType ?? 'unknown',
    tags: config.tags,
  };
}

/** A certificate that cannot be read names no device: the report falls back to the host name. */
async function certificateCommonName(path: string): Promise<string | undefined> {
  try {
    const subject = new X509Certificate(await readFile(path)).subject;
    return /(?:^|\n)CN=([^\n]+)/.exec(subject)?.[1]?.trim() || undefined;
  } catch {
    return undefined;
  }
}
