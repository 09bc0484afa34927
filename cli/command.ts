import { defaultConfigPaths } from '../lib/config/device-config.js';
import type { DeviceEnvironment } from '../lib/device/environment.js';
import { exitCodeForError, type ExitCodeValue } from '../lib/exit-codes.js';
import { explainSystemError } from '../lib/fs/system-errors.js';
import { afterInterruption } from '../lib/interruption.js';
import { exitMeanings } from '../lib/report/exit-meanings.js';
import { Output } from './output.js';
import { wrapWords } from './terminal.js';

/** Options every command takes. */
export interface GlobalArgs {
  config?: string[];
  json: boolean;
  verbose: boolean;
  color?: boolean;
  'log-level': number;
}

/** `--config`, which only the device commands take. */
export const configOption = {
  alias: 'c',
  type: 'string',
  array: true,
  description: `Config file or directory of *.toml snippets, repeatable (default: ${defaultConfigPaths.join(', ')})`,
} as const;

/** The signals that end a command early, and the exit status they give (128 + the signal number). */
const STOP_SIGNALS = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Runs a command body, turning its result or its typed error into the process exit code (set, not forced,
 * so that pending output is flushed). Errors print as one line; the stack only with --verbose. Ctrl-C (or a
 * SIGTERM) ends it at once with what the interruption leaves and what to run next.
 */
export async function runCommand(command: string, args: GlobalArgs, body: (output: Output) => Promise<ExitCodeValue>): Promise<void> {
  const output = new Output({ json: args.json, color: args.color, verbose: args.verbose, logLevel: args['log-level'] });
  const stop = (signal: keyof typeof STOP_SIGNALS) => {
    output.error(afterInterruption(command, output.stepsSoFar), { code: STOP_SIGNALS[signal], kind: 'Interrupted' });
    process.exit(STOP_SIGNALS[signal]);
  };
  const handlers = Object.keys(STOP_SIGNALS).map((signal) => {
    const handler = () => stop(signal as keyof typeof STOP_SIGNALS);
    process.once(signal, handler);
    return () => process.off(signal, handler);
  });
  try {
    process.exitCode = await body(output);
  } catch (raw) {
    const error = explainSystemError(raw);
    const code = exitCodeForError(error);
    const message = error instanceof Error ? error.message : String(error);
    output.error(message, { detail: error instanceof Error ? error.stack : undefined, code, kind: (error as Error)?.name });
    process.exitCode = code;
  } finally {
    for (const remove of handlers) remove();
  }
}

/** The device the command works on: its configuration (from --config or aktualizr-lite's paths), engine, rootfs and files. */
export async function deviceEnvironment(args: GlobalArgs, output: Output): Promise<DeviceEnvironment> {
  const explicit = (args.config?.length ?? 0) > 0;
  const paths = explicit ? args.config! : defaultConfigPaths;
  const { loadDeviceEnvironment } = await import('../lib/device/environment.js');
  const env = await loadDeviceEnvironment(paths, { explicit, onProgress: output.progress });
  if (env.config.files.length === 0) {
    output.warn(`no configuration file found (looked in ${paths.join(', ')}): using the defaults, hardware id ${env.config.hardwareId}`);
  } else {
    output.detail(`configuration read from ${env.config.files.join(', ')}`);
  }
  return env;
}

/** The width the exit codes are wrapped to: what the man page shows without breaking lines, and under any terminal's. */
const EPILOG_WIDTH = 74;

/** "Exit codes:" and the meaning of each code a command can end with, for its --help (from the table the reports use). */
export function exitCodesEpilog(codes: readonly ExitCodeValue[]): string {
  const sorted = [...new Set(codes)].sort((a, b) => a - b);
  const indent = Math.max(...sorted.map((code) => String(code).length)) + 4;
  return ['Exit codes:', ...sorted.map((code) => wrapWords(`  ${String(code).padEnd(indent - 2)}${exitMeanings[code].meaning}`, EPILOG_WIDTH, indent))].join('\n');
}

