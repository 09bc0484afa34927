import { deviceTypeOfCertificate, type DeviceConfig } from '../config/device-config.js';
import type { AktualizrState } from './sql-db.js';

/**
 * What sql.db adds to the configuration, in aktualizr-lite's order: the hardware id of its primary ECU when the
 * config sets none (liteclient.cc: the stored ECU serials come before the host name), and the device type from the
 * certificate aktualizr-lite imported into `tls_creds` when no certificate file or `[offline] device_type` tells.
 * A certificate in an HSM (`[tls] cert_source = pkcs11`) cannot be read without the vendor's PKCS#11 module: such a
 * device stays of unknown type (it takes ci and prod bundles) unless `[offline] device_type` says which, and a
 * warning says so.
 */
export function withAktualizrIdentity(config: DeviceConfig, state: AktualizrState | undefined): DeviceConfig {
  const warnings = [...config.warnings];
  const hardwareId = !config.hardwareIdConfigured && state?.primaryEcu ? state.primaryEcu.hardwareId : config.hardwareId;
  let deviceType = config.deviceType;
  if (deviceType === undefined && state?.clientCertificate) deviceType = deviceTypeOfCertificate(state.clientCertificate, `${state.path} (tls_creds)`);
  if (deviceType === undefined && config.certificateInHsm) {
    warnings.push('the device certificate is in an HSM ([tls] cert_source = pkcs11), which fioup-offline cannot read: the device type is unknown, ' +
      'so ci and prod bundles are both accepted; set [offline] device_type = "ci" or "prod" to check it');
  }
  return { ...config, hardwareId, deviceType, warnings };
}
