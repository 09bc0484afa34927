import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ConfigError, NotARegularFileError } from '../errors.js';
import { readRegularFile } from '../fs/device-files.js';
import { parseIni, type IniValue } from './ini.js';

/** aktualizr-lite's config sources, in order (libaktualizr config.h, aktualizr-lite api.cc). */
export const defaultConfigPaths = ['/usr/lib/sota/conf.d', '/var/sota/sota.toml', '/etc/sota/conf.d/'];

/** Every `[section] key` of the merged configuration, each with the file and line it came from. */
export type MergedConfig = ReadonlyMap<string, ReadonlyMap<string, IniValue>>;

export interface ConfigFiles {
  readonly merged: MergedConfig;
  /** The files read, in the order they were applied. */
  readonly files: readonly string[];
}

export interface ReadConfigOptions {
  /** Paths named on the command line must exist (aktualizr-lite refuses them otherwise); the default ones may not. */
  readonly mustExist: boolean;
}

/**
 * Reads the configuration as libaktualizr's base_config.cc does: each source is a directory of `*.toml` files or a
 * file; every file is keyed by its file name, so a later source's file replaces an earlier one of the same name;
 * then all files are applied in file-name order, each key of a later file overriding the same key of an earlier
 * one. Each file is read with boost's INI rules (`ini.ts`) and every `"` is removed from values, as libaktualizr's
 * `stripQuotes` does.
 */
export async function readConfigFiles(paths: readonly string[], options: ReadConfigOptions): Promise<ConfigFiles> {
  const byName = new Map<string, string>();
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (!info) {
      if (options.mustExist) throw new ConfigError(`config path ${path} does not exist`);
      continue;
    }
    if (info.isDirectory()) {
      for (const name of await readdir(path)) {
        if (!name.endsWith('.toml')) continue;
        const file = join(path, name);
        if (!(await stat(file).catch(() => undefined))?.isDirectory()) byName.set(name, file);
      }
    } else {
      byName.set(basename(path), path);
    }
  }
  const files = [...byName.keys()].sort(byCodeUnits).map((name) => byName.get(name)!);
  const merged = new Map<string, Map<string, IniValue>>();
  for (const file of files) {
    const text = await readConfigFile(file);
    for (const [section, keys] of parseIni(text, file)) {
      const into = merged.get(section) ?? new Map<string, IniValue>();
      for (const [key, entry] of keys) into.set(key, { ...entry, value: entry.value.replaceAll('"', '') });
      merged.set(section, into);
    }
  }
  return { merged, files };
}

/** The largest config snippet read: real ones are a few hundred bytes. */
const MAX_CONFIG_FILE_BYTES = 1 << 20;

/** A config file is a regular file (a FIFO named on the command line would block, /dev/urandom never end). */
async function readConfigFile(file: string): Promise<string> {
  let bytes: Buffer | undefined;
  try {
    bytes = await readRegularFile(file, { what: 'config file', maxBytes: MAX_CONFIG_FILE_BYTES });
  } catch (error) {
    if (error instanceof NotARegularFileError) throw new ConfigError(error.message);
    throw new ConfigError(`cannot read config file ${file}: ${(error as Error).message}`);
  }
  if (!bytes) throw new ConfigError(`cannot read config file ${file}: it went away`);
  return bytes.toString('utf8');
}

/** std::map<std::string, ...> order: byte-wise, which is code-unit order for the ASCII names config files have. */
function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
