import type { Argv, CommandModule } from 'yargs';
import { runCommand, type GlobalArgs } from '../command.js';
import { notAvailableYet } from './not-available.js';

export interface BundleCreateArgs extends GlobalArgs {
  sources: string[];
  target?: string[];
  'hardware-id'?: string[];
  format: 'dir' | 'tar' | 'zip';
  drive?: string;
  force: boolean;
  'min-validity': number;
}

export const bundleCreateCommand: CommandModule<GlobalArgs, BundleCreateArgs> = {
  command: 'bundle-create <sources..>',
  describe: 'Check fioctl offline-update downloads and write them as a verified bundle: bundle-create <fioctl-dir>... <dest>',
  builder: (yargs) =>
    (yargs as Argv<GlobalArgs>)
      .positional('sources', { type: 'string', array: true, demandOption: true, description: 'fioctl offline-update directories, then the destination (omit the destination with --drive)' })
      .option('target', { type: 'string', array: true, description: 'Keep only this target (repeatable)' })
      .option('hardware-id', { type: 'string', array: true, description: 'Keep only targets for this hardware id (repeatable)' })
      .option('format', { choices: ['dir', 'tar', 'zip'] as const, default: 'dir' as const, description: 'Bundle format' })
      .option('drive', { type: 'string', description: "Write to this drive's mount point or device, or 'auto' for the only removable USB drive" })
      .option('force', { type: 'boolean', default: false, description: 'Overwrite a bundle already at the destination' })
      .option('min-validity', { type: 'number', default: 30, description: 'Warn when metadata expires within this many days' }) as Argv<BundleCreateArgs>,
  handler: (args) => runCommand(args, async () => notAvailableYet('bundle-create')),
};

interface BundlePathArgs extends GlobalArgs {
  bundle: string;
}

const bundlePath = (yargs: Argv<GlobalArgs>) =>
  yargs.positional('bundle', { type: 'string', demandOption: true, description: 'Bundle directory, .tar or .zip' }) as Argv<BundlePathArgs>;

export const bundleCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'bundle <command>',
  describe: 'Verify or inspect an existing bundle',
  builder: (yargs) =>
    yargs
      .command<BundlePathArgs>({
        command: 'verify <bundle>',
        describe: 'Re-read every file of a bundle and check it against its manifest (exit 0 or 70)',
        builder: bundlePath,
        handler: (args) => runCommand(args, async () => notAvailableYet('bundle verify')),
      })
      .command<BundlePathArgs>({
        command: 'inspect <bundle>',
        describe: 'Summarise a bundle: targets per hardware id, versions, apps, sizes, expiry dates',
        builder: bundlePath,
        handler: (args) => runCommand(args, async () => notAvailableYet('bundle inspect')),
      })
      .demandCommand(1, 'Name a bundle command: verify or inspect.'),
  handler: () => {},
};
