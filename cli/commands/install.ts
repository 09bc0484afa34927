import type { CommandModule } from 'yargs';
import { deviceConfig, runCommand, type GlobalArgs } from '../command.js';
import { notAvailableYet } from './not-available.js';

export interface InstallArgs extends GlobalArgs {
  'src-dir'?: string;
  target?: string;
  force: boolean;
}

export const installCommand: CommandModule<GlobalArgs, InstallArgs> = {
  command: 'install',
  describe: 'Verify and stage the target from the medium; exit 101: restart dockerd then `run`, 100: reboot then `run`',
  builder: (yargs) =>
    yargs
      .option('src-dir', { type: 'string', description: 'The medium: a bundle directory, .tar or .zip (default: look on mounted removable drives)' })
      .option('target', { type: 'string', description: 'Install this target instead of the newest' })
      .option('force', { type: 'boolean', default: false, description: 'Allow a downgrade, or a target that failed before' }),
  handler: (args) => runCommand(args, async () => {
    await deviceConfig(args);
    return notAvailableYet('install');
  }),
};
