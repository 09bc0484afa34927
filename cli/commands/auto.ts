import type { CommandModule } from 'yargs';
import { UsageError } from '../../lib/errors.js';
import { ExitCode } from '../../lib/exit-codes.js';
import { nonEmptyPath } from '../medium.js';
import { configOption, deviceEnvironment, exitCodesEpilog, runCommand, type GlobalArgs } from '../command.js';

export interface AutoArgs extends GlobalArgs {
  'src-dir'?: string;
  'after-reboot': boolean;
  'reboot-command': string;
}

export const autoCommand: CommandModule<GlobalArgs, AutoArgs> = {
  command: 'auto',
  describe: 'The whole update from a medium, for the USB unit: install, then run (apps) or reboot and run after it (rootfs); '
    + 'a report goes onto the medium',
  builder: (yargs) =>
    yargs
      .option('config', configOption)
      .option('src-dir', { type: 'string', coerce: nonEmptyPath('src-dir'), description: 'The medium: its mount point, a bundle directory, .tar or .zip; reports go into it (or beside the archive)' })
      .option('after-reboot', { type: 'boolean', default: false, description: 'Finish an update that auto started before the reboot it asked for (no medium needed)' })
      .option('reboot-command', { type: 'string', default: 'systemctl --no-block reboot', description: 'How to reboot when a rootfs update needs it' })
      .check((args) => {
        if ((args['src-dir'] === undefined) === !args['after-reboot']) throw new UsageError('name the medium with --src-dir, or give --after-reboot');
        return true;
      })
      .epilog(exitCodesEpilog([
        ExitCode.ok, ExitCode.doneBootFirmwareNeedsReboot, ExitCode.rolledBack, ExitCode.rebootRequired, ExitCode.other, ExitCode.noMatchingTarget, ExitCode.contentMissing,
        ExitCode.security, ExitCode.expired, ExitCode.metadataNotFound, ExitCode.invalidMetadata, ExitCode.installationPending,
        ExitCode.insufficientSpace, ExitCode.contentVerification, ExitCode.imageLoad, ExitCode.bootFirmwareNeedsReboot, ExitCode.downgradeRefused, ExitCode.rollbackFailed,
      ])),
  handler: (args) =>
    runCommand('auto', args, async (output) => {
      const { autoUpdate } = await import('../../lib/auto/auto-update.js');
      const { runRebootCommand } = await import('../../lib/auto/reboot-schedule.js');
      const { renderReportText } = await import('../../lib/report/render-text.js');
      const env = await deviceEnvironment(args, output);
      const result = await autoUpdate(env, { mediumPath: args['src-dir'], requestReboot: () => runRebootCommand(args['reboot-command']) });
      if (result.report) output.result(result.report, (report) => renderReportText(report).trimEnd());
      return result.exitCode;
    }),
};
