import yargs, { type Argv } from 'yargs';
import { describeBuild } from '../lib/build-info.js';
import { ExitCode } from '../lib/exit-codes.js';
import { autoCommand } from './commands/auto.js';
import { bundleCommand, bundleCreateCommand } from './commands/bundle.js';
import { checkCommand } from './commands/check.js';
import { currentCommand } from './commands/current.js';
import { installCommand } from './commands/install.js';
import { runCommand } from './commands/run.js';
import { statusCommand } from './commands/status.js';
import { errorJsonLine } from './output.js';
import { escapeControls } from './terminal.js';

export const PROGRAM = 'fioup-offline';
export const SUMMARY = 'Offline updates of Compose Apps and OSTree rootfs from a USB medium.';

/**
 * The command line: every command, option and help text. `--help`, the man page and the bash completion all come
 * from here (scripts/package/man-page.ts renders the man page from it). `width` wraps the help; by default the
 * terminal's, at most 110 columns.
 */
export function cliParser(args: readonly string[], width = Math.min(110, process.stdout.columns || 110)): Argv {
  const parser = commandLine(args, width);
  skipHelpCache(parser);
  return parser;
}

function commandLine(args: readonly string[], width: number): Argv {
  return yargs([...args])
    .scriptName(PROGRAM)
    .usage(`$0 <command> [options]\n\n${SUMMARY}`)
    .option('json', { type: 'boolean', default: false, description: 'Machine-readable output on stdout' })
    .option('verbose', { type: 'boolean', default: false, description: 'More detail, and stack traces on errors' })
    .option('color', { type: 'boolean', description: 'Colour always (--color) or never (--no-color); default: on terminals, unless NO_COLOR is set or TERM=dumb (FORCE_COLOR forces it)' })
    .option('log-level', { type: 'number', choices: [0, 1, 2, 3, 4, 5], default: 2, description: 'As aklite-offline: 0 trace, 1 debug, 2 info, 3 warning, 4 error, 5 fatal' })
    .command(bundleCreateCommand)
    .command(bundleCommand)
    .command(checkCommand)
    .command(installCommand)
    .command(runCommand)
    .command(currentCommand)
    .command(autoCommand)
    .command(statusCommand)
    .completion('completion', false)
    .demandCommand(1, 'Name a command.')
    .recommendCommands()
    .strict()
    .help()
    .alias('help', 'h')
    .epilog(`'${PROGRAM} help <command>' shows a command's options.`)
    // The version is looked up only when asked for (from a checkout that costs a call to git).
    .version(false)
    .option('version', { type: 'boolean', description: 'Show the version and the commit it was built from' })
    .middleware((argv) => {
      if (!argv.version) return;
      process.stdout.write(`${PROGRAM} ${describeBuild()}\n`);
      process.exit(ExitCode.ok);
    }, true)
    .wrap(width)
    // A usage error (yargs' own, or a UsageError from a command's check) exits 1, as aklite-offline's; with --json as JSON too.
    .fail((message, error) => {
      const given = message || error?.message || 'invalid command line';
      const mistyped = args.find((arg) => !arg.startsWith('-') && arg !== 'bundle');
      const text = given.startsWith('Did you mean') ? `unknown command '${mistyped}'. ${given}` : given;
      process.stderr.write(`Usage: ${PROGRAM} <command> [options]   (${PROGRAM} <command> --help for details)\nerror: ${escapeControls(text)}\n`);
      if (args.includes('--json')) process.stdout.write(errorJsonLine(ExitCode.usage, 'UsageError', text));
      process.exit(ExitCode.usage);
    });
}

/** The part of yargs' usage instance (internal: not in its types) that skipHelpCache replaces. */
interface UsageInternals {
  getInternalMethods?(): { getUsageInstance?(): { cacheHelpMessage?: () => void } | undefined };
}

/**
 * yargs renders a command's whole help as the command starts (`cacheHelpMessage`), shown or not, for a `showHelp`
 * made after the handler has run, which this CLI never makes: usage errors come before the handler, and handlers
 * report their own failures. That cost every command ~20 ms (the executable's `current`: 93 ms instead of 73). The
 * usage instance is internal to yargs: if a release moves it, nothing is replaced and commands are only slower.
 */
function skipHelpCache(parser: Argv): void {
  const usage = (parser as UsageInternals).getInternalMethods?.().getUsageInstance?.();
  if (typeof usage?.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
}
