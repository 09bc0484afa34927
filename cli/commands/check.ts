import type { CommandModule } from 'yargs';
import { deviceConfig, runCommand, type GlobalArgs } from '../command.js';
import { notAvailableYet } from './not-available.js';

export interface CheckArgs extends GlobalArgs {
  'src-dir'?: string;
  target?: string;
}

export const checkCommand: CommandModule<GlobalArgs, CheckArgs> = {
  command: 'check',
  describe: 'Verify the medium against the device trust and list the targets it offers this device (changes nothing)',
  builder: (yargs) =>
    yargs
      .option('src-dir', { type: 'string', description: 'The medium: a bundle directory, .tar or .zip (default: look on mounted removable drives)' })
      .option('target', { type: 'string', description: 'Report on this target instead of the newest' }),
  handler: (args) => runCommand(args, async () => {
    await deviceConfig(args);
    return notAvailableYet('check');
  }),
};
