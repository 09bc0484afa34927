import type { CommandModule } from 'yargs';
import type { HistoryEntry } from '../../lib/device/history.js';
import { ExitCode } from '../../lib/exit-codes.js';
import type { DeviceStatus } from '../../lib/update/status.js';
import { configOption, deviceEnvironment, exitCodesEpilog, runCommand, type GlobalArgs } from '../command.js';

export const statusCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'status',
  describe: 'Show the current and pending targets and the state of each app (the device state also without Docker)',
  builder: (yargs) => yargs.option('config', configOption).epilog(exitCodesEpilog([ExitCode.ok, ExitCode.other])),
  handler: (args) =>
    runCommand('status', args, async (output) => {
      const { deviceStatus } = await import('../../lib/update/status.js');
      const status = await deviceStatus(await deviceEnvironment(args, output));
      if (status.docker) output.warn(`${status.docker.problem}; the apps' states are unknown`);
      output.result(status, describe);
      return ExitCode.ok;
    }),
};

function describe(status: DeviceStatus): string {
  const lines = [
    `current target: ${status.current ? `${status.current.name} (version ${status.current.version})` : '(none)'}`,
    `pending target: ${status.pending ? `${status.pending.target.name} (version ${status.pending.target.version}, ${status.pending.phase}): run 'fioup-offline run'` : '(none)'}`,
    `configuration:  ${status.configFiles.length ? status.configFiles.join(', ') : '(no file found: the defaults)'}`,
  ];
  if (status.failedTargets.length) lines.push('failed targets:', ...status.failedTargets.map((name) => `  ${name}: ${status.failureReasons[name] ?? '(reason no longer in the history)'}`));
  for (const app of status.apps) {
    const images = app.imagesPresent === null ? 'unknown' : app.imagesPresent ? 'present' : 'MISSING';
    lines.push(`  ${app.name.padEnd(20)} ${app.state.padEnd(10)} images ${images}  ${app.uri}`);
  }
  if (status.history.length) lines.push('last updates (newest first):', ...status.history.map(describeHistoryEntry));
  return lines.join('\n');
}

function describeHistoryEntry(entry: HistoryEntry): string {
  const target = entry.target ? `${entry.target.name} (version ${entry.target.version})` : '(no target)';
  const line = `  ${entry.startedAt}  ${entry.command.padEnd(7)} ${target}: ${entry.result} (exit ${entry.exitCode})${entry.reason ? `: ${entry.reason}` : ''}`;
  return entry.logTail ? `${line}\n${entry.logTail.split('\n').map((text) => `      | ${text}`).join('\n')}` : line;
}
