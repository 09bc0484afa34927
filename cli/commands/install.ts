import type { CommandModule } from 'yargs';
import { ExitCode, exitCodeForOutcome } from '../../lib/exit-codes.js';
import type { InstallResult } from '../../lib/update/install.js';
import { configOption, deviceEnvironment, exitCodesEpilog, runCommand, type GlobalArgs } from '../command.js';
import { mediumOption, withMedium } from '../medium.js';

export interface InstallArgs extends GlobalArgs {
  'src-dir'?: string;
  target?: string;
  force: boolean;
}

export const installCommand: CommandModule<GlobalArgs, InstallArgs> = {
  command: 'install',
  describe: 'Verify and stage the target from the medium; exit 101 (or 10): `run` next, 100: reboot then `run`',
  builder: (yargs) =>
    yargs
      .option('config', configOption)
      .option('src-dir', mediumOption)
      .option('target', { alias: 't', type: 'string', description: 'Install this target instead of the newest' })
      .option('force', { alias: 'f', type: 'boolean', default: false, description: 'Allow a downgrade, or a target that failed before' })
      .epilog(exitCodesEpilog([
        ExitCode.ok, ExitCode.appsInstalled, ExitCode.appsNeedFinalization, ExitCode.rebootRequired, ExitCode.other, ExitCode.noMatchingTarget,
        ExitCode.contentMissing, ExitCode.security, ExitCode.expired, ExitCode.metadataNotFound, ExitCode.invalidMetadata, ExitCode.targetNotFound,
        ExitCode.installationPending, ExitCode.insufficientSpace, ExitCode.contentVerification, ExitCode.imageLoad, ExitCode.bootFirmwareNeedsReboot,
        ExitCode.downgradeRefused,
      ])),
  handler: (args) =>
    runCommand('install', args, async (output) => {
      const { installFromMedium } = await import('../../lib/update/install.js');
      const env = await deviceEnvironment(args, output);
      const result = await withMedium(args['src-dir'], output, (medium) =>
        installFromMedium(env, medium, { force: args.force, ...(args.target === undefined ? {} : { requestedTarget: args.target }) }));
      output.result(result, describe);
      return exitCodeForOutcome(result.outcome, { appsInstalled: env.config.appsInstalledExitCode });
    }),
};

function describe(result: InstallResult): string {
  const name = `${result.target.name} (version ${result.target.version})`;
  switch (result.outcome) {
    case 'up-to-date':
      return `${name} is installed and its apps run: nothing to do.`;
    case 'reboot-required':
      return `${name} is installed. Reboot the device, then run 'fioup-offline run'. The drive may be removed.`;
    default:
      return `${name} is installed (${result.loadedImages.length} image(s) loaded). Run 'fioup-offline run' to start it ` +
        '(no dockerd restart is needed). The drive may be removed.';
  }
}
