import type { CommandModule } from 'yargs';
import { ExitCode, exitCodeForOutcome } from '../../lib/exit-codes.js';
import type { RunResult } from '../../lib/update/run.js';
import { configOption, deviceEnvironment, exitCodesEpilog, runCommand as run, type GlobalArgs } from '../command.js';

export const runCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'run',
  describe: 'Start the installed target (after the reboot `install` asked for, if any); roll back on failure',
  builder: (yargs) =>
    yargs
      .option('config', configOption)
      .epilog(exitCodesEpilog([
        ExitCode.ok, ExitCode.doneBootFirmwareNeedsReboot, ExitCode.rolledBack, ExitCode.rebootRequired, ExitCode.other, ExitCode.nothingPending,
        ExitCode.insufficientSpace, ExitCode.rollbackFailed,
      ])),
  handler: (args) =>
    run('run', args, async (output) => {
      const { runPending } = await import('../../lib/update/run.js');
      const result = await runPending(await deviceEnvironment(args, output));
      output.result(result, describe);
      return exitCodeForOutcome(result.outcome);
    }),
};

function describe(result: RunResult): string {
  switch (result.outcome) {
    case 'done':
      return `${result.target} is running: update complete.`;
    case 'done-boot-firmware-reboot':
      return `${result.target} is running: update complete. It brought a boot firmware update: reboot once more to confirm it.`;
    case 'reboot-required':
      return `Reboot required: reboot the device, then run 'fioup-offline run' again.`;
    default:
      return `${result.target} failed and the previous apps were restored.\n${result.failure ?? ''}`;
  }
}
