import type { CommandModule } from 'yargs';
import { ExitCode, exitCodeForError, exitCodeForOutcome } from '../../lib/exit-codes.js';
import { formatBytes } from '../../lib/format.js';
import type { CheckedTarget, CheckReport } from '../../lib/update/check.js';
import type { RootfsPart } from '../../lib/update/plan.js';
import { configOption, deviceEnvironment, exitCodesEpilog, runCommand, type GlobalArgs } from '../command.js';
import { mediumOption, withMedium } from '../medium.js';
import type { Output } from '../output.js';

export interface CheckArgs extends GlobalArgs {
  'src-dir'?: string;
  target?: string;
  force: boolean;
  'verify-content': boolean;
  all: boolean;
}

/** The report as printed: the verdict's error as its kind and message. */
type PrintedReport = Omit<CheckReport, 'verdict'> & { verdict: { outcome: string } | { error: { kind: string; message: string } } };

export const checkCommand: CommandModule<GlobalArgs, CheckArgs> = {
  command: 'check',
  describe: 'Verify the medium against the device trust, list the targets it offers this device and what install would do (exit 16: an update; 0 or 3: none)',
  builder: (yargs) =>
    yargs
      .option('config', configOption)
      .option('src-dir', mediumOption)
      .option('target', { alias: 't', type: 'string', description: 'Report on this target instead of the newest' })
      .option('force', { alias: 'f', type: 'boolean', default: false, description: 'As install --force: plan a downgrade, or a target that failed before' })
      .option('verify-content', { type: 'boolean', default: false, description: 'Read and hash every blob the install would load (a dry run; nothing is loaded)' })
      .option('all', { type: 'boolean', default: false, description: 'List every target on the medium, not only those for this device' })
      .epilog(exitCodesEpilog([
        ExitCode.ok, ExitCode.upToDateCached, ExitCode.updateAvailable, ExitCode.appsNeedSync, ExitCode.other, ExitCode.noMatchingTarget,
        ExitCode.contentMissing, ExitCode.security, ExitCode.expired, ExitCode.metadataNotFound, ExitCode.invalidMetadata, ExitCode.targetNotFound,
        ExitCode.installationPending, ExitCode.insufficientSpace, ExitCode.contentVerification, ExitCode.bootFirmwareNeedsReboot, ExitCode.downgradeRefused,
      ])),
  handler: (args) =>
    runCommand('check', args, async (output) => {
      const { checkMedium } = await import('../../lib/update/check.js');
      const env = await deviceEnvironment(args, output);
      const report = await withMedium(args['src-dir'], output, (medium) => checkMedium(env, medium, {
        force: args.force,
        verifyContent: args['verify-content'],
        allTargets: args.all,
        ...(args.target === undefined ? {} : { requestedTarget: args.target }),
      }));
      for (const warning of report.warnings) output.warn(warning);
      const verdict = 'outcome' in report.verdict ? { outcome: report.verdict.outcome } : { error: { kind: report.verdict.error.name, message: report.verdict.error.message } };
      const printed: PrintedReport = { ...report, verdict };
      output.result(printed, (safe) => renderReport(safe, output, args.all));
      return 'outcome' in report.verdict ? exitCodeForOutcome(report.verdict.outcome) : exitCodeForError(report.verdict.error);
    }),
};

function renderReport(report: PrintedReport, output: Output, all: boolean): string {
  const { paint } = output;
  const { device, metadata } = report;
  const lines = [
    `${paint.bold('Medium')}   ${report.medium}`,
    `${paint.bold('Device')}   hardware id ${device.hardwareId}, tags ${device.tags.join(', ') || '(none)'}, ${device.deviceType ?? 'unregistered (ci or prod)'} device, ` +
      `current target ${device.currentTarget ? `${device.currentTarget.name} (version ${device.currentTarget.version})` : '(none recorded)'}`,
    `${paint.bold('Config')}   ${device.configFiles.length ? device.configFiles.join(', ') : '(no file found: the defaults)'}`,
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
    status(row, output),
  ]);
  lines.push(...table(['TARGET', 'VERSION', 'APPS', 'STATUS'], rows));
  if (!all) lines.push("('check --all' lists the targets for other devices too)");
  lines.push('', ...planLines(report, output));
  lines.push('outcome' in report.verdict ? verdictLine(report.verdict.outcome, report.selected) : paint.red(report.verdict.error.message));
  return lines.join('\n');
}

function status(row: CheckedTarget, { paint }: Output): string {
  if (row.installable) return paint.green('installable');
  if (row.relation === 'same' && row.forDevice) return 'current';
  if (row.refusal) return paint.yellow(row.relation === 'older' ? 'older: install --force to downgrade' : 'failed before: install --force to retry');
  return paint.yellow(row.reasons.join(', ') || 'not installable');
}

/** What install would do: the plan, the space it needs against the watermark, and whether the content was hashed. */
function planLines(report: PrintedReport, { paint }: Output): string[] {
  const { plan, space, content } = report;
  if (!plan) return [];
  const rootfs = plan.parts.find((part): part is RootfsPart => part.kind === 'rootfs');
  const lines = [`${paint.bold('Plan')}     ${plan.target.name} (version ${plan.target.version}): ${plan.description}${rootfs ? `; rootfs ${rootfs.commit.slice(0, 12)}` : ''}`];
  for (const filesystem of space?.filesystems ?? []) {
    const line = `${formatBytes(filesystem.bytes)} on the filesystem of ${filesystem.path} (${filesystem.what.join(', ')}); ` +
      `${formatBytes(filesystem.allowed)} may be used under the ${space!.watermarkPercent}% watermark`;
    lines.push(`${paint.bold('Space')}    ${filesystem.fits ? line : paint.red(line)}`);
  }
  if (space?.filesystems.length === 0) lines.push(`${paint.bold('Space')}    nothing to write`);
  lines.push(`${paint.bold('Content')}  ${content
    ? `${content.blobs} blob(s), ${formatBytes(content.bytes)}, read and hashed: intact`
    : "the hash chains are verified; 'check --verify-content' also reads and hashes every blob"}`);
  lines.push('');
  return lines;
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
