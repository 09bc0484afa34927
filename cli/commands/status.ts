import type { CommandModule } from 'yargs';
import { deviceConfig, runCommand, type GlobalArgs } from '../command.js';
import { notAvailableYet } from './not-available.js';

export const statusCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'status',
  describe: 'Show the current and pending targets and the state of each app',
  handler: (args) => runCommand(args, async () => {
    await deviceConfig(args);
    return notAvailableYet('status');
  }),
};
