import type { CommandModule } from 'yargs';
import { ExitCode } from '../../lib/exit-codes.js';
import type { CurrentTarget } from '../../lib/update/current.js';
import { configOption, deviceEnvironment, exitCodesEpilog, runCommand, type GlobalArgs } from '../command.js';

export const currentCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'current',
  describe: 'Show the target the device runs: name, version, ostree hash, apps (as aklite-offline current)',
  builder: (yargs) => yargs.option('config', configOption).epilog(exitCodesEpilog([ExitCode.ok, ExitCode.other])),
  handler: (args) =>
    runCommand('current', args, async (output) => {
      const { currentTarget } = await import('../../lib/update/current.js');
      const target = await currentTarget(await deviceEnvironment(args, output));
      output.result(target, describe);
      return ExitCode.ok;
    }),
};

/** aklite-offline's lines (apps/aklite-offline/cmds.cpp), with the version after the name. */
function describe(target: CurrentTarget): string {
  const lines = [`Target: ${target.name}`];
  if (target.version !== undefined) lines.push(`Version: ${target.version}`);
  lines.push(`Ostree hash: ${target.ostreeHash}`);
  if (target.apps.length > 0) lines.push('Apps:');
  for (const app of target.apps) lines.push(`\t${app.on ? 'on ' : 'off'}: ${app.name} -> ${app.uri || '(preloaded; URI unknown)'}`);
  return lines.join('\n');
}
