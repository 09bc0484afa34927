import { join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { createBundle, type CreateBundleResult } from '../../lib/bundle/create.js';
import { describeDrive, resolveDrive, type ChosenDrive } from '../../lib/bundle/drive.js';
import { inspectBundle, type BundleSummary } from '../../lib/bundle/inspect.js';
import { hostChecks } from '../../lib/bundle/host-checks.js';
import { verifyBundle } from '../../lib/bundle/verify.js';
import { UsageError } from '../../lib/errors.js';
import { ExitCode } from '../../lib/exit-codes.js';
import { formatBytes } from '../../lib/format.js';
import { runCommand, type GlobalArgs } from '../command.js';

export interface BundleCreateArgs extends GlobalArgs {
  sources: string[];
  target?: string[];
  'hardware-id'?: string[];
  format: 'dir' | 'tar' | 'zip';
  drive?: string;
  force: boolean;
  'min-validity': number;
}

export const bundleCreateCommand: CommandModule<GlobalArgs, BundleCreateArgs> = {
  command: 'bundle-create <sources..>',
  describe: 'Check fioctl offline-update downloads and write them as a verified bundle: bundle-create <fioctl-dir>... <dest>',
  builder: (yargs) =>
    (yargs as Argv<GlobalArgs>)
      .positional('sources', { type: 'string', array: true, demandOption: true, description: 'fioctl offline-update directories, then the destination (omit the destination with --drive)' })
      .option('target', { type: 'string', array: true, description: 'Keep only this target (repeatable)' })
      .option('hardware-id', { type: 'string', array: true, description: 'Keep only targets for this hardware id (repeatable)' })
      .option('format', { choices: ['dir', 'tar', 'zip'] as const, default: 'dir' as const, description: 'Bundle format' })
      .option('drive', { type: 'string', description: "Write to a drive: 'auto' (the only removable USB drive), its device or its mount point; the bundle goes to <mount point>/fioup-offline-bundle[.tar|.zip]" })
      .option('force', { type: 'boolean', default: false, description: 'Overwrite a bundle already at the destination' })
      .option('min-validity', { type: 'number', default: 30, description: 'Warn when metadata expires within this many days' }) as Argv<BundleCreateArgs>,
  handler: (args) =>
    runCommand(args, async (output) => {
      const drive = args.drive === undefined ? undefined : await resolveDrive(args.drive);
      if (drive) output.progress({ type: 'info', message: `writing to ${describeDrive(drive)}` });
      const { sources, destination } = splitDestination(args, drive);
      const result = await createBundle({
        sources,
        destination,
        format: args.format,
        force: args.force,
        selection: { targets: args.target ?? [], hardwareIds: args['hardware-id'] ?? [] },
        checks: hostChecks({ minValidityDays: args['min-validity'], onWarning: (message) => output.warn(message) }),
        onProgress: output.progress,
      });
      output.result({ destination, ...(drive ? { drive } : {}), ...result }, () => describeCreated(destination, result));
      return ExitCode.ok;
    }),
};

function splitDestination(args: BundleCreateArgs, drive: ChosenDrive | undefined): { sources: string[]; destination: string } {
  if (drive) {
    const name = args.format === 'dir' ? 'fioup-offline-bundle' : `fioup-offline-bundle.${args.format}`;
    return { sources: args.sources, destination: join(drive.mountPoint, name) };
  }
  if (args.sources.length < 2) throw new UsageError('name at least one fioctl offline-update directory and the destination (or use --drive)');
  return { sources: args.sources.slice(0, -1), destination: args.sources.at(-1)! };
}

function describeCreated(destination: string, result: CreateBundleResult): string {
  const bytes = result.manifest.files.reduce((sum, file) => sum + file.size, 0);
  return [
    `Bundle written to ${destination} and verified: ${result.manifest.files.length} files, ${formatBytes(bytes)}` +
      (result.skipped ? ` (${result.skipped} already present)` : ''),
    ...result.manifest.targets.map((target) => `  ${target.name} (version ${target.version}) for ${target.hardwareIds.join(', ')}: ${target.apps.map((app) => app.name).join(', ') || 'no apps'}`),
    `Metadata valid until ${result.manifest.metadataExpires}.`,
    ...result.notes.map((note) => `note: ${note}`),
  ].join('\n');
}

interface BundlePathArgs extends GlobalArgs {
  bundle: string;
}

const bundlePath = (yargs: Argv<GlobalArgs>) =>
  yargs.positional('bundle', { type: 'string', demandOption: true, description: 'Bundle directory, .tar or .zip' }) as Argv<BundlePathArgs>;

export const bundleCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'bundle <command>',
  describe: 'Verify or inspect an existing bundle',
  builder: (yargs) =>
    yargs
      .command<BundlePathArgs>({
        command: 'verify <bundle>',
        describe: 'Re-read every file of a bundle and check it against its manifest (exit 0 or 70)',
        builder: bundlePath,
        handler: (args) =>
          runCommand(args, async (output) => {
            const manifest = await verifyBundle(args.bundle, output.progress);
            output.result({ bundle: args.bundle, files: manifest.files.length, ok: true }, () => `${args.bundle}: all ${manifest.files.length} files intact.`);
            return ExitCode.ok;
          }),
      })
      .command<BundlePathArgs>({
        command: 'inspect <bundle>',
        describe: 'Summarise a bundle: targets per hardware id, versions, apps, sizes, expiry dates',
        builder: bundlePath,
        handler: (args) =>
          runCommand(args, async (output) => {
            const summary = await inspectBundle(args.bundle);
            output.result(summary, () => describeSummary(summary));
            return ExitCode.ok;
          }),
      })
      .demandCommand(1, 'Name a bundle command: verify or inspect.'),
  handler: () => {},
};

function describeSummary(summary: BundleSummary): string {
  const lines = [
    `${summary.medium}: ${summary.fileCount} files, ${formatBytes(summary.totalBytes)}, made by ${summary.tool} at ${summary.createdAt}`,
    `metadata valid until ${summary.metadataExpires}`,
  ];
  for (const [hardwareId, targets] of Object.entries(summary.targetsByHardwareId)) {
    lines.push(`${hardwareId}:`);
    for (const target of targets) {
      lines.push(`  ${target.name}  version ${target.version}  tags ${target.tags.join(',') || '-'}  apps ${target.apps.map((app) => app.name).join(', ') || '-'}`);
    }
  }
  lines.push(summary.reports.length ? `reports from devices (${summary.reports.length}):` : 'no reports from devices on this drive');
  for (const report of summary.reports) {
    lines.push(report.problem
      ? `  ${report.file}: ${report.problem}`
      : `  ${report.finishedAt}  ${report.device}  ${report.result} (exit ${report.exitCode})  ${report.previousTarget ?? '-'} -> ${report.newTarget ?? '-'}  ${report.file}`);
  }
  return lines.join('\n');
}
