import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../command.js';

export const autoCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'auto',
  describe: 'stub',
  handler: () => {},
};
