import type { CommandModule } from 'yargs';
import { deviceConfig, runCommand as run, type GlobalArgs } from '../command.js';
import { notAvailableYet } from './not-available.js';

export const runCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'run',
  describe: 'Start the installed target (after the restart or reboot `install` asked for); roll back on failure',
  handler: (args) => run(args, async () => {
    await deviceConfig(args);
    return notAvailableYet('run');
  }),
};
