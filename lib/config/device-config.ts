import { X509Certificate } from 'node:crypto';
import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { availableParallelism, hostname } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';
import { ConfigError } from '../errors.js';
import { defaultConfigPaths, readConfigFiles, type MergedConfig } from './config-files.js';
import type { IniValue } from './ini.js';

export { defaultConfigPaths } from './config-files.js';

export type DeviceType = 'ci' | 'prod';
/** A subset of a target's apps: all of them, none, or those named. */
export type AppFilter = { readonly kind: 'all' } | { readonly kind: 'none' } | { readonly kind: 'listed'; readonly names: readonly string[] };
/** `[pacman] compose_apps`: unset = every app of the target, an empty list (`""`, `" "`) = none, else the listed ones. */
export type EnabledApps = AppFilter;
/** `[pacman] type`: `ostree` updates the rootfs only and leaves apps alone; `ostree+compose_apps` updates both. */
export type PackageManager = 'ostree' | 'ostree+compose_apps';

/**
 * Where the OSTree rootfs lives and how the booted commit is found:
 * - `[pacman] sysroot`: the OSTree sysroot (aktualizr-lite's key), default `/sysroot`;
 * - `[pacman] os`: the OSTree OS name (stateroot), default `lmp`;
 * - `[offline] ostree`: `auto` (default: an OSTree device when the kernel command line has `ostree=`), `true` or `false`;
 * - `[offline] kernel_cmdline`: the file holding the kernel command line, default `/proc/cmdline` (tests point it
 *   at a file they rewrite to simulate booting another deployment);
 */
export interface RootfsConfig {
  readonly sysroot: string;
  readonly os: string;
  readonly ostree: 'auto' | boolean;
  readonly kernelCmdline: string;
}

/** `[bootloader] rollback_mode` (libaktualizr bootloader_config.cc; anything else is `none`, as there). */
export type RollbackMode = 'none' | 'uboot_generic' | 'uboot_masked' | 'fiovb';

/**
 * How the bootloader is told about a new rootfs (docs/formats.md section 12), and the volatile reboot sentinel
 * `[bootloader] reboot_sentinel_dir` / `reboot_sentinel_name` (aktualizr's defaults `/var/run/aktualizr-session`,
 * `need_reboot`), shared with aktualizr-lite: present from the deploy of a rootfs until the reboot empties its tmpfs.
 */
export interface BootloaderConfig {
  readonly rollbackMode: RollbackMode;
  readonly rebootSentinel: string;
  /** `[pacman] ostree_update_block`: no new rootfs while a boot firmware update awaits its confirming reboot (default on). */
  readonly blockWhileBootFirmwarePending: boolean;
}

/** The exit code of an install that staged apps only: 101 (this project's contract) or 10 (aklite-offline since 2024). */
export type AppsInstalledExitCode = 10 | 101;

export interface DeviceConfig {
  readonly hardwareId: string;
  /** Whether `[provision] primary_ecu_hardware_id` set it; else it is the host name, unless sql.db's primary ECU has one. */
  readonly hardwareIdConfigured: boolean;
  readonly tags: string[];
  readonly packageManager: PackageManager;
  readonly enabledApps: EnabledApps;
  readonly storagePath: string;
  readonly composeAppsRoot: string;
  /** Largest share of a filesystem, in percent, that may be in use once the update is written. */
  readonly storageWatermark: number;
  readonly callbackProgram: string | undefined;
  /** `[storage] uptane_metadata_path`: the initial roots of the device image, in `ci/` and `prod/`. */
  readonly rootsDir: string;
  /** Undefined when nothing tells (no certificate): such a device takes ci and prod bundles and only roots 1 and 2. */
  readonly deviceType: DeviceType | undefined;
  /** `[import] tls_clientcert_path` resolved against `base_path`: the device certificate, whose subject names the device. */
  readonly clientCertificatePath: string | undefined;
  readonly rootfs: RootfsConfig;
  readonly bootloader: BootloaderConfig;
  /** `[storage] sqldb_path`: aktualizr-lite's database, relative to `[storage] path` (default `sql.db`). */
  readonly sqldbPath: string;
  /** `[tls] cert_source = pkcs11`: the device certificate is in an HSM, which this tool cannot read. */
  readonly certificateInHsm: boolean;
  /** `[offline] start_timeout`: seconds `run` waits for the apps to be running and healthy. */
  readonly startTimeoutSeconds: number;
  /** `[pacman] docker_prune`: after a successful update, remove the images only the replaced apps used. */
  readonly pruneImages: boolean;
  /** `[offline] parallel_loads`: how many images load into Docker at once. */
  readonly parallelLoads: number;
  /** `[offline] aklite_lock`: the lock aktualizr-lite and aklite-offline hold while they run. */
  readonly akliteLockPath: string;
  readonly appsInstalledExitCode: AppsInstalledExitCode;
  /** Files read, in the order they were merged. */
  readonly files: readonly string[];
  /** What aktualizr-lite would log and go on with (a callback program that does not exist...). */
  readonly warnings: readonly string[];
}

/**
 * One load more than there are cores: dockerd inflates each load's layers on one core while the next load streams
 * (bench/install.ts measures 1 to 4: on 2 cores 3 at once was best, 4 slower again).
 */
const DEFAULT_PARALLEL_LOADS = Math.min(4, availableParallelism() + 1);

export interface LoadConfigOptions {
  /** The paths were named on the command line: each must exist. */
  readonly explicit?: boolean;
}

/**
 * Reads aktualizr-lite's configuration (`config-files.ts` says how files are found, merged and parsed) and gives the
 * keys fioup-offline uses their aktualizr-lite meaning and defaults (docs/device-guide.md lists them).
 */
export async function loadDeviceConfig(paths: readonly string[] = defaultConfigPaths, options: LoadConfigOptions = {}): Promise<DeviceConfig> {
  const { merged, files } = await readConfigFiles(paths, { mustExist: options.explicit ?? false });
  return interpret(new Keys(merged), files);
}

/** The merged keys, read with the file and line of each value for messages. */
class Keys {
  constructor(private readonly merged: MergedConfig) {}

  entry(section: string, key: string): IniValue | undefined {
    return this.merged.get(section)?.get(key);
  }

  text(section: string, key: string): string | undefined {
    return this.entry(section, key)?.value;
  }

  invalid(section: string, key: string, expected: string): ConfigError {
    const entry = this.entry(section, key)!;
    return new ConfigError(`[${section}] ${key} must be ${expected}, not '${entry.value}' (${entry.file}, line ${entry.line})`);
  }

  /** A key of fioup-offline's own: `true` or `false`; undefined when unset. */
  boolean(section: string, key: string): boolean | undefined {
    const value = this.text(section, key);
    if (value === undefined) return undefined;
    if (value === 'true' || value === 'false') return value === 'true';
    throw this.invalid(section, key, 'true or false');
  }

  positiveInteger(section: string, key: string, fallback: number): number {
    const value = this.text(section, key);
    if (value === undefined) return fallback;
    if (!/^[1-9][0-9]*$/.test(value)) throw this.invalid(section, key, 'a positive whole number');
    return Number(value);
  }
}

async function interpret(keys: Keys, files: readonly string[]): Promise<DeviceConfig> {
  const warnings: string[] = [];
  return {
    hardwareId: keys.text('provision', 'primary_ecu_hardware_id') || hostname(),
    hardwareIdConfigured: !!keys.text('provision', 'primary_ecu_hardware_id'),
    tags: splitList(keys.text('pacman', 'tags')),
    packageManager: await packageManager(keys),
    enabledApps: enabledApps(keys.text('pacman', 'compose_apps')),
    storagePath: keys.text('storage', 'path') || '/var/sota',
    composeAppsRoot: keys.text('pacman', 'compose_apps_root') || '/var/sota/compose-apps',
    storageWatermark: storageWatermark(keys),
    callbackProgram: await callbackProgram(keys, warnings),
    rootsDir: rootsDir(keys),
    deviceType: await deviceType(keys),
    clientCertificatePath: clientCertificatePath(keys),
    rootfs: {
      sysroot: keys.text('pacman', 'sysroot') || '/sysroot',
      os: keys.text('pacman', 'os') || 'lmp',
      ostree: keys.text('offline', 'ostree') === 'auto' ? 'auto' : keys.boolean('offline', 'ostree') ?? 'auto',
      kernelCmdline: keys.text('offline', 'kernel_cmdline') || '/proc/cmdline',
    },
    bootloader: {
      rollbackMode: rollbackMode(keys.text('bootloader', 'rollback_mode')),
      rebootSentinel: rebootSentinel(keys, warnings),
      blockWhileBootFirmwarePending: ostreeUpdateBlock(keys.text('pacman', 'ostree_update_block')),
    },
    sqldbPath: keys.text('storage', 'sqldb_path') || 'sql.db',
    certificateInHsm: keys.text('tls', 'cert_source') === 'pkcs11',
    startTimeoutSeconds: keys.positiveInteger('offline', 'start_timeout', 120),
    pruneImages: dockerPrune(keys.text('pacman', 'docker_prune')),
    parallelLoads: keys.positiveInteger('offline', 'parallel_loads', DEFAULT_PARALLEL_LOADS),
    akliteLockPath: keys.text('offline', 'aklite_lock') || '/var/lock/aklite.lock',
    appsInstalledExitCode: appsInstalledExitCode(keys),
    files,
    warnings,
  };
}

/**
 * aktualizr-lite's lists (`tags`, `compose_apps`, `fetched-apps.shortlist`): split on any of `,` and space, empty
 * items dropped (boost::split with is_any_of(", ")), so `"devel main"` and `"devel, main"` are both two items.
 */
export function splitList(value: string | undefined): string[] {
  return (value ?? '').split(/[, ]/).filter(Boolean);
}

function enabledApps(value: string | undefined): EnabledApps {
  if (value === undefined) return { kind: 'all' };
  const names = splitList(value);
  return names.length === 0 ? { kind: 'none' } : { kind: 'listed', names };
}

/** Unset: apps are updated when the device has Docker (liteclient.cc looks for /usr/bin/dockerd; we look on PATH). */
async function packageManager(keys: Keys): Promise<PackageManager> {
  const value = keys.text('pacman', 'type');
  if (value === 'ostree' || value === 'ostree+compose_apps') return value;
  if (value !== undefined && value !== '') throw keys.invalid('pacman', 'type', "'ostree' or 'ostree+compose_apps'");
  return (await hasDockerd()) ? 'ostree+compose_apps' : 'ostree';
}

async function hasDockerd(): Promise<boolean> {
  const directories = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const directory of directories) {
    if (await access(join(directory, 'dockerd'), constants.X_OK).then(() => true, () => false)) return true;
  }
  return false;
}

/** composeappmanager.cc: an integer as `std::stoi` reads one (leading digits), from 20 to 95; 80 when unset. */
function storageWatermark(keys: Keys): number {
  const value = keys.text('pacman', 'storage_watermark');
  if (value === undefined) return 80;
  const digits = /^[ \t\n\v\f\r]*([+-]?[0-9]+)/.exec(value)?.[1];
  const number = digits === undefined ? NaN : Number(digits);
  if (!(number >= 20 && number <= 95)) throw keys.invalid('pacman', 'storage_watermark', 'an integer from 20 to 95');
  return number;
}

/** liteclient.cc: a callback program that does not exist is logged and not run. */
async function callbackProgram(keys: Keys, warnings: string[]): Promise<string | undefined> {
  const program = keys.text('pacman', 'callback_program');
  if (!program) return undefined;
  if (await access(program).then(() => true, () => false)) return program;
  warnings.push(`[pacman] callback_program ${program} does not exist: no callback will run`);
  return undefined;
}

/**
 * `[storage] uptane_metadata_path`, resolved against `/`; libaktualizr's default (`metadata`, hence `/metadata`) means
 * aktualizr-lite's `/usr/lib/sota/tuf` (liteclient.cc). `[offline] roots_dir`, this project's earlier name, is an
 * alias: when both are set they must agree.
 */
function rootsDir(keys: Keys): string {
  const resolve = (value: string) => {
    const path = isAbsolute(value) ? value : join('/', value);
    return path === '/metadata' ? '/usr/lib/sota/tuf' : path;
  };
  const storage = keys.text('storage', 'uptane_metadata_path');
  const alias = keys.text('offline', 'roots_dir');
  if (storage && alias && resolve(storage) !== resolve(alias)) {
    throw new ConfigError(`[storage] uptane_metadata_path (${storage}) and its alias [offline] roots_dir (${alias}) disagree: set one of them`);
  }
  return resolve(storage || alias || 'metadata');
}

/** bootloader_config.cc: the three modes by name; any other value is `none`. */
function rollbackMode(value: string | undefined): RollbackMode {
  return value === 'uboot_generic' || value === 'uboot_masked' || value === 'fiovb' ? value : 'none';
}

/**
 * `[bootloader] reboot_sentinel_dir`/`reboot_sentinel_name`. `[offline] runtime_dir`, where earlier versions of this
 * tool kept their own marker, names the sentinel's directory when `[bootloader] reboot_sentinel_dir` is not set; when
 * both are, the `[bootloader]` key wins (a warning says so).
 */
function rebootSentinel(keys: Keys, warnings: string[]): string {
  const bootloaderDir = keys.text('bootloader', 'reboot_sentinel_dir');
  const offlineDir = keys.text('offline', 'runtime_dir');
  if (bootloaderDir && offlineDir && bootloaderDir !== offlineDir) {
    warnings.push(`[offline] runtime_dir (${offlineDir}) is ignored: [bootloader] reboot_sentinel_dir (${bootloaderDir}) names the reboot sentinel's directory`);
  }
  return join(bootloaderDir || offlineDir || '/var/run/aktualizr-session', keys.text('bootloader', 'reboot_sentinel_name') || 'need_reboot');
}

/** composeappmanager.cc: pruning is on unless the value is `0` or `false` (any case). */
function dockerPrune(value: string | undefined): boolean {
  return value === undefined || !['0', 'false'].includes(value.toLowerCase());
}

/** rootfstreemanager.cc: the block is on unless the value is exactly `0` or `false`. */
function ostreeUpdateBlock(value: string | undefined): boolean {
  return value !== '0' && value !== 'false';
}

function appsInstalledExitCode(keys: Keys): AppsInstalledExitCode {
  const value = keys.text('offline', 'apps_installed_exit_code');
  if (value === undefined || value === '101') return 101;
  if (value === '10') return 10;
  throw keys.invalid('offline', 'apps_installed_exit_code', '101 or 10');
}

/**
 * `[offline] device_type`, else the client certificate (`[import] tls_clientcert_path`, relative to `[import]
 * base_path`, default `/var/sota/import`): `businessCategory=production` makes a `prod` device, any other a `ci`
 * one. Without a certificate the type is unknown, as for aktualizr-lite on an unregistered device.
 */
function clientCertificatePath(keys: Keys): string | undefined {
  const certificate = keys.text('import', 'tls_clientcert_path');
  if (!certificate) return undefined;
  return isAbsolute(certificate) ? certificate : join(keys.text('import', 'base_path') || '/var/sota/import', certificate);
}

async function deviceType(keys: Keys): Promise<DeviceType | undefined> {
  const declared = keys.text('offline', 'device_type');
  if (declared === 'ci' || declared === 'prod') return declared;
  if (declared !== undefined) throw keys.invalid('offline', 'device_type', "'ci' or 'prod'");
  const path = clientCertificatePath(keys);
  if (!path) return undefined;
  const pem = await readFile(path).catch(() => undefined);
  return pem && deviceTypeOfCertificate(pem, path);
}

/** `prod` for a certificate whose subject has `businessCategory=production` (liteclient.cc getClientType), else `ci`. */
export function deviceTypeOfCertificate(pem: Buffer, source: string): DeviceType {
  let subject: string;
  try {
    subject = new X509Certificate(pem).subject;
  } catch (error) {
    throw new ConfigError(`cannot read the device certificate ${source}: ${(error as Error).message}`);
  }
  return /(^|\n)businessCategory=production($|\n)/.test(subject) ? 'prod' : 'ci';
}
