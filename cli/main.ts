#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { defaultConfigPaths } from '../lib/config/device-config.js';
import { ExitCode } from '../lib/exit-codes.js';
import { bundleCommand, bundleCreateCommand } from './commands/bundle.js';
import { checkCommand } from './commands/check.js';
import { currentCommand } from './commands/current.js';
import { installCommand } from './commands/install.js';
import { runCommand } from './commands/run.js';
import { statusCommand } from './commands/status.js';

// aklite-offline users type `help <command>`: the same as `<command> --help`.
const argv = hideBin(process.argv);
const parser = yargs(argv[0] === 'help' ? [...argv.slice(1), '--help'] : argv)
  .scriptName('fioup-offline')
  .usage('$0 <command> [options]\n\nOffline updates of Compose Apps and OSTree rootfs from a USB medium.')
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
  .command(statusCommand)
  .demandCommand(1, 'Name a command.')
  .strict()
  .help()
  .alias('help', 'h')
  .epilog("'fioup-offline help <command>' shows a command's options.")
  .version()
  .wrap(Math.min(110, process.stdout.columns || 110))
  .fail((message, error) => {
    if (error) throw error;
    process.stderr.write(`Usage: fioup-offline <command> [options]   (fioup-offline <command> --help for details)\nerror: ${message}\n`);
    process.exit(ExitCode.usage);
  });

await parser.parseAsync();
