import type { CommandModule } from 'yargs';
import { exitCodeForError, exitCodeForOutcome } from '../../lib/exit-codes.js';
import { checkMedium, type CheckReport } from '../../lib/update/check.js';
import { deviceEnvironment, runCommand, type GlobalArgs } from '../command.js';
import { mediumOption, withMedium } from '../medium.js';
import type { Output } from '../output.js';

export interface CheckArgs extends GlobalArgs {
  'src-dir'?: string;
  target?: string;
}

export const checkCommand: CommandModule<GlobalArgs, CheckArgs> = {
  command: 'check',
  describe: 'Verify the medium against the device trust, list the targets it offers this device (exit 16: an update; 0 or 3: none)',
  builder: (yargs) =>
    yargs
      .option('src-dir', mediumOption)
      .option('target', { alias: 't', type: 'string', description: 'Report on this target instead of the newest' }),
  handler: (args) =>
    runCommand(args, async (output) => {
      const env = await deviceEnvironment(args, output);
      const report = await withMedium(args['src-dir'], output, (medium) => checkMedium(env, medium, args.target === undefined ? {} : { requestedTarget: args.target }));
      for (const warning of report.warnings) output.warn(warning);
      const verdict = 'outcome' in report.verdict ? { outcome: report.verdict.outcome } : { error: { kind: report.verdict.error.name, message: report.verdict.error.message } };
      output.result({ ...report, verdict }, () => renderReport(report, output));
      return 'outcome' in report.verdict ? exitCodeForOutcome(report.verdict.outcome) : exitCodeForError(report.verdict.error);
    }),
};

function renderReport(report: CheckReport, output: Output): string {
  const { paint } = output;
  const { device, metadata } = report;
  const lines = [
    `${paint.bold('Medium')}   ${report.medium}`,
    `${paint.bold('Device')}   hardware id ${device.hardwareId}, tags ${device.tags.join(', ') || '(none)'}, ${device.deviceType ?? 'unregistered (ci or prod)'} device, ` +
      `current target ${device.currentTarget ? `${device.currentTarget.name} (version ${device.currentTarget.version})` : '(none recorded)'}`,
    `${paint.bold('Metadata')} verified: root version ${metadata.rootVersion}, targets version ${metadata.targetsVersion}` +
      `${metadata.usedStoredMetadata ? ' (the device\'s stored metadata: the medium\'s is older)' : ''}, checked at ${metadata.checkedAt}`,
    `         expires: ${Object.entries(metadata.expires).map(([role, date]) => `${role} ${date}`).join(', ')}`,
    metadata.bundle ? `${paint.bold('Bundle')}   ${metadata.bundle.type}, tag ${metadata.bundle.tag ?? '(none)'}, ${metadata.bundle.targets.length} target(s)` : `${paint.bold('Bundle')}   no bundle-targets.json`,
    '',
  ];
  const rows = report.targets.map((row) => [
    row.name === report.selected ? `${row.name} *` : row.name,
    row.version === undefined ? '-' : String(row.version),
    row.apps.join(',') || '-',
    row.installable ? paint.green('installable') : paint.yellow(row.reasons.join(', ') || 'not installable'),
  ]);
  lines.push(...table(['TARGET', 'VERSION', 'APPS', 'STATUS'], rows));
  lines.push('');
  lines.push('outcome' in report.verdict ? verdictLine(report.verdict.outcome, report.selected) : paint.red(report.verdict.error.message));
  return lines.join('\n');
}

function verdictLine(outcome: string, selected: string | undefined): string {
  if (outcome === 'update-available') return `Newer target available: ${selected}. Install it with 'fioup-offline install'.`;
  if (outcome === 'apps-need-sync') return `${selected} is current but some of its apps do not run: 'fioup-offline install' restores them.`;
  if (outcome === 'up-to-date-cached') return "Nothing newer for this device: the medium's metadata is older than the device's, whose stored metadata is valid.";
  return 'Nothing newer for this device on the medium.';
}

function table(header: string[], rows: string[][]): string[] {
  if (rows.length === 0) return ['(no target on the medium for this device)'];
  // eslint-disable-next-line no-control-regex
  const visible = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, '').length;
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => visible(row[column]!))));
  const format = (row: string[]) => row.map((cell, column) => (column === row.length - 1 ? cell : cell + ' '.repeat(widths[column]! - visible(cell)))).join('  ');
  return [format(header), ...rows.map(format)];
}
