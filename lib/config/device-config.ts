import { X509Certificate } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { ConfigError } from '../errors.js';

export const defaultConfigPaths = ['/usr/lib/sota/conf.d', '/var/sota/sota.toml', '/etc/sota/conf.d/'];

export type DeviceType = 'ci' | 'prod';
/** `[pacman] compose_apps`: unset = every app of the target, a single space = none, else the listed ones. */
export type EnabledApps = { readonly kind: 'all' } | { readonly kind: 'none' } | { readonly kind: 'listed'; readonly names: readonly string[] };

/**
 * Where the OSTree rootfs lives and how the booted commit is found:
 * - `[pacman] sysroot`: the OSTree sysroot (aktualizr-lite's key), default `/sysroot`;
 * - `[pacman] os`: the OSTree OS name (stateroot), default `lmp`;
 * - `[offline] ostree`: `auto` (default: an OSTree device when the kernel command line has `ostree=`), `true` or `false`;
 * - `[offline] kernel_cmdline`: the file holding the kernel command line, default `/proc/cmdline` (tests point it
 *   at a file they rewrite to simulate booting another deployment);
 * - `[offline] runtime_dir`: a directory a reboot empties (tmpfs), default `/run/fioup-offline`: the reboot marker
 *   there tells "not rebooted yet" from "rebooted, and the bootloader fell back".
 */
export interface RootfsConfig {
  readonly sysroot: string;
  readonly os: string;
  readonly ostree: 'auto' | boolean;
  readonly kernelCmdline: string;
  readonly runtimeDir: string;
}

export interface DeviceConfig {
  readonly hardwareId: string;
  readonly tags: string[];
  readonly enabledApps: EnabledApps;
  readonly storagePath: string;
  readonly composeAppsRoot: string;
  /** Largest share of a filesystem, in percent, that may be in use once the update is written. */
  readonly storageWatermark: number;
  readonly callbackProgram: string | undefined;
  readonly rootsDir: string;
  readonly deviceType: DeviceType;
  /** `[import] tls_clientcert_path` resolved against `base_path`: the device certificate, whose subject names the device. */
  readonly clientCertificatePath: string | undefined;
  readonly rootfs: RootfsConfig;
  /** `[offline] start_timeout`: seconds `run` waits for the apps to be running and healthy. */
  readonly startTimeoutSeconds: number;
  /** `[offline] prune`: after a successful update, remove the images only the replaced apps used. */
  readonly pruneImages: boolean;
  /** `[offline] parallel_loads`: how many images load into Docker at once. */
  readonly parallelLoads: number;
  /** Files read, in the order they were merged. */
  readonly files: string[];
}

type Sections = Record<string, Record<string, unknown>>;

/** Two loads keep two cores busy, one inflating layers while the other streams (bench/install.ts measures 1 to 4). */
const DEFAULT_PARALLEL_LOADS = 2;

/**
 * Reads aktualizr-lite's TOML snippets: each path is a file or a directory of `*.toml` files taken in name order;
 * later files override earlier ones key by key. Paths that do not exist are skipped, as aktualizr-lite does.
 */
export async function loadDeviceConfig(paths: readonly string[] = defaultConfigPaths): Promise<DeviceConfig> {
  const files = await configFiles(paths);
  const sections: Sections = {};
  for (const file of files) {
    let parsed: Record<string, unknown>;
    try {
      parsed = parseToml(await readFile(file, 'utf8')) as Record<string, unknown>;
    } catch (error) {
      throw new ConfigError(`cannot parse ${file}: ${(error as Error).message.split('\n')[0]}`);
    }
    for (const [name, section] of Object.entries(parsed)) {
      if (!isTable(section)) continue;
      sections[name] = { ...sections[name], ...section };
    }
  }
  return interpret(sections, files);
}

async function configFiles(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (!info) continue;
    if (info.isDirectory()) {
      const names = (await readdir(path)).filter((name) => name.endsWith('.toml')).sort();
      files.push(...names.map((name) => join(path, name)));
    } else {
      files.push(path);
    }
  }
  return files;
}

async function interpret(sections: Sections, files: string[]): Promise<DeviceConfig> {
  const where = files.length ? files.join(', ') : 'no configuration file found';
  const text = (section: string, key: string): string | undefined => {
    const value = sections[section]?.[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' && typeof value !== 'number') throw new ConfigError(`[${section}] ${key} must be a string (${where})`);
    return String(value);
  };
  const hardwareId = text('provision', 'primary_ecu_hardware_id');
  if (!hardwareId) throw new ConfigError(`[provision] primary_ecu_hardware_id is not set (${where})`);

  const storagePath = text('storage', 'path') ?? '/var/sota';
  const watermark = Number(text('pacman', 'storage_watermark') ?? 95);
  if (!Number.isInteger(watermark) || watermark < 20 || watermark > 99) {
    throw new ConfigError(`[pacman] storage_watermark must be an integer from 20 to 99, not ${text('pacman', 'storage_watermark')}`);
  }
  const declaredType = text('offline', 'device_type');
  if (declaredType !== undefined && declaredType !== 'ci' && declaredType !== 'prod') {
    throw new ConfigError(`[offline] device_type must be 'ci' or 'prod', not '${declaredType}'`);
  }
  const basePath = text('import', 'base_path') ?? storagePath;
  const certificateSetting = text('import', 'tls_clientcert_path');
  const certificate = certificateSetting ? resolveFrom(basePath, certificateSetting) : undefined;
  return {
    hardwareId,
    tags: splitCommaList(text('pacman', 'tags')),
    enabledApps: enabledApps(sections.pacman?.compose_apps),
    storagePath,
    composeAppsRoot: text('pacman', 'compose_apps_root') ?? '/var/sota/compose-apps',
    storageWatermark: watermark,
    callbackProgram: text('pacman', 'callback_program') || undefined,
    rootsDir: text('offline', 'roots_dir') ?? '/usr/lib/sota/tuf',
    deviceType: declaredType ?? (certificate ? await deviceTypeFromCertificate(certificate) : 'ci'),
    clientCertificatePath: certificate,
    rootfs: {
      sysroot: text('pacman', 'sysroot') ?? '/sysroot',
      os: text('pacman', 'os') ?? 'lmp',
      ostree: ostreeMode(sections.offline?.ostree),
      kernelCmdline: text('offline', 'kernel_cmdline') ?? '/proc/cmdline',
      runtimeDir: text('offline', 'runtime_dir') ?? '/run/fioup-offline',
    },
    startTimeoutSeconds: positiveInteger(text('offline', 'start_timeout') ?? '120', '[offline] start_timeout'),
    pruneImages: booleanKey(sections.offline?.prune, '[offline] prune', true),
    parallelLoads: positiveInteger(text('offline', 'parallel_loads') ?? String(DEFAULT_PARALLEL_LOADS), '[offline] parallel_loads'),
    files,
  };
}

function positiveInteger(value: string, key: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) throw new ConfigError(`${key} must be a positive whole number, not '${value}'`);
  return number;
}

function booleanKey(value: unknown, key: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new ConfigError(`${key} must be true or false, not '${String(value)}'`);
}

function enabledApps(value: unknown): EnabledApps {
  if (value === undefined) return { kind: 'all' };
  if (typeof value !== 'string') throw new ConfigError('[pacman] compose_apps must be a string');
  if (value.trim() === '') return { kind: 'none' };
  return { kind: 'listed', names: splitCommaList(value) };
}

/** `[offline] ostree`: a TOML boolean or the strings `auto`, `true`, `false`. */
function ostreeMode(value: unknown): 'auto' | boolean {
  return value === undefined || value === 'auto' ? 'auto' : booleanKey(value, "[offline] ostree ('auto' or)", false);
}

/** aktualizr-lite's comma lists (`tags`, `compose_apps`, `fetched-apps.shortlist`): items trimmed, empty ones dropped. */
export function splitCommaList(value: string | undefined): string[] {
  return (value ?? '').split(',').map((item) => item.trim()).filter(Boolean);
}

function resolveFrom(base: string, path: string): string {
  return isAbsolute(path) ? path : join(base, path);
}

/** Factory devices carry `businessCategory=production` in their certificate's subject when they are production devices. */
async function deviceTypeFromCertificate(path: string): Promise<DeviceType> {
  const pem = await readFile(path).catch(() => undefined);
  if (!pem) return 'ci';
  let subject: string;
  try {
    subject = new X509Certificate(pem).subject;
  } catch (error) {
    throw new ConfigError(`cannot read the device certificate ${path}: ${(error as Error).message}`);
  }
  return /(^|\n)businessCategory=production($|\n)/.test(subject) ? 'prod' : 'ci';
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
