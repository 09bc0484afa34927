import yargs, { type Argv } from 'yargs';
import { describeBuild } from '../lib/build-info.js';
import { defaultConfigPaths } from '../lib/config/device-config.js';
import { ExitCode } from '../lib/exit-codes.js';
import { autoCommand } from './commands/auto.js';
import { bundleCommand, bundleCreateCommand } from './commands/bundle.js';
import { checkCommand } from './commands/check.js';
import { currentCommand } from './commands/current.js';
import { installCommand } from './commands/install.js';
import { runCommand } from './commands/run.js';
import { statusCommand } from './commands/status.js';

export const PROGRAM = 'fioup-offline';
export const SUMMARY = 'Offline updates of Compose Apps and OSTree rootfs from a USB medium.';

/**
 * The command line: every command, option and help text. `--help`, the man page and the bash completion all come
 * from here (scripts/package/man-page.ts renders the man page from it).
 */
export function cliParser(args: readonly string[], width = Math.min(110, process.stdout.columns || 110)): Argv {
  return yargs([...args])
    .scriptName(PROGRAM)
    .usage(`$0 <command> [options]\n\n${SUMMARY}`)
    .option('config', {
      alias: 'c',
      type: 'string',
      array: true,
      description: `Config file or directory of *.toml snippets, repeatable (default: ${defaultConfigPaths.join(', ')})`,
    })
    .option('json', { type: 'boolean', default: false, description: 'Machine-readable output on stdout' })
    .option('verbose', { type: 'boolean', default: false, description: 'More detail, and stack traces on errors' })
    .option('color', { type: 'boolean', default: true, description: 'Colored output (--no-color to disable)' })
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
    .fail((message, error) => {
      if (error) throw error;
      process.stderr.write(`Usage: ${PROGRAM} <command> [options]   (${PROGRAM} <command> --help for details)\nerror: ${message}\n`);
      process.exit(ExitCode.usage);
    });
}
