import { defaultConfigPaths } from '../lib/config/device-config.js';
import { loadDeviceEnvironment, type DeviceEnvironment } from '../lib/device/environment.js';
import { exitCodeForError, type ExitCodeValue } from '../lib/exit-codes.js';
import { explainSystemError } from '../lib/fs/system-errors.js';
import { Output } from './output.js';

/** Options every command takes. */
export interface GlobalArgs {
  config?: string[];
  json: boolean;
  verbose: boolean;
  color: boolean;
  'log-level': number;
}

/**
 * Runs a command body, turning its result or its typed error into the process exit code (set, not forced,
 * so that pending output is flushed). Errors print as one line; the stack only with --verbose.
 */
export async function runCommand(args: GlobalArgs, body: (output: Output) => Promise<ExitCodeValue>): Promise<void> {
  const output = new Output({ json: args.json, color: args.color, verbose: args.verbose, logLevel: args['log-level'] });
  try {
    process.exitCode = await body(output);
  } catch (raw) {
    const error = explainSystemError(raw);
    const code = exitCodeForError(error);
    const message = error instanceof Error ? error.message : String(error);
    output.error(message, error instanceof Error ? error.stack : undefined);
    if (output.json) process.stdout.write(`${JSON.stringify({ error: { code, kind: (error as Error)?.name, message } })}\n`);
    process.exitCode = code;
  }
}

/** The device the command works on: its configuration (from --config or aktualizr-lite's paths), engine, rootfs and files. */
export function deviceEnvironment(args: GlobalArgs, output: Output): Promise<DeviceEnvironment> {
  const explicit = (args.config?.length ?? 0) > 0;
  return loadDeviceEnvironment(explicit ? args.config! : defaultConfigPaths, { explicit, onProgress: output.progress });
}
