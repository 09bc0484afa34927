import { defaultConfigPaths, loadDeviceConfig, type DeviceConfig } from '../lib/config/device-config.js';
import { platformOfArch } from '../lib/apps/platform.js';
import { DockerEngine } from '../lib/docker/engine.js';
import { exitCodeForError, type ExitCodeValue } from '../lib/exit-codes.js';
import { Rootfs } from '../lib/rootfs/rootfs.js';
import type { UpdateEnvironment } from '../lib/update/services.js';
import { Output } from './output.js';

/** Options every command takes. */
export interface GlobalArgs {
  config?: string[];
  json: boolean;
  verbose: boolean;
  color: boolean;
}

/**
 * Runs a command body, turning its result or its typed error into the process exit code (set, not forced,
 * so that pending output is flushed). Errors print as one line; the stack only with --verbose.
 */
export async function runCommand(args: GlobalArgs, body: (output: Output) => Promise<ExitCodeValue>): Promise<void> {
  const output = new Output({ json: args.json, color: args.color, verbose: args.verbose });
  try {
    process.exitCode = await body(output);
  } catch (error) {
    const code = exitCodeForError(error);
    const message = error instanceof Error ? error.message : String(error);
    output.error(message, error instanceof Error ? error.stack : undefined);
    if (output.json) process.stdout.write(`${JSON.stringify({ error: { code, kind: (error as Error)?.name, message } })}\n`);
    process.exitCode = code;
  }
}

export function deviceConfig(args: GlobalArgs): Promise<DeviceConfig> {
  return loadDeviceConfig(args.config?.length ? args.config : defaultConfigPaths);
}

/** The engine and listeners the install and run pipelines use on this device. */
export function updateEnvironment(config: DeviceConfig, output: Output): UpdateEnvironment {
  return { config, engine: new DockerEngine(), platform: platformOfArch(), rootfs: Rootfs.fromConfig(config), onProgress: output.progress, startTimeoutMs: config.startTimeoutSeconds * 1000 };
}
