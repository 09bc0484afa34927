import { join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import type { CreateBundleResult } from '../../lib/bundle/create.js';
import type { ChosenDrive } from '../../lib/bundle/drive.js';
import type { BundleSummary } from '../../lib/bundle/inspect.js';
import type { BundleTarget } from '../../lib/bundle/manifest.js';
import type { BundleFormat } from '../../lib/bundle/preflight.js';
import type { VerifyReport } from '../../lib/bundle/verify.js';
import { UsageError } from '../../lib/errors.js';
import { ExitCode } from '../../lib/exit-codes.js';
import { formatBytes } from '../../lib/format.js';
import { exitCodesEpilog, runCommand, type GlobalArgs } from '../command.js';

export interface BundleCreateArgs extends GlobalArgs {
  source: string;
  destination?: string;
  target?: string[];
  'hardware-id'?: string[];
  format?: BundleFormat;
  drive?: string;
  force: boolean;
  'min-validity': number;
}

const CREATE_DESCRIPTION = 'Check fioctl offline-update downloads and write them as a verified bundle';

export const bundleCreateCommand: CommandModule<GlobalArgs, BundleCreateArgs> = {
  // yargs takes a variadic positional only last: the paths are read in order (`paths`), the destination last.
  command: 'bundle-create <source..> [destination]',
  describe: `${CREATE_DESCRIPTION}: bundle-create <source>... <destination>`,
  builder: (yargs) =>
    (yargs as Argv<GlobalArgs>)
      .usage(`$0 bundle-create <source>... <destination>\n$0 bundle-create <source>... --drive auto|<device>|<mount point>\n\n${CREATE_DESCRIPTION}`)
      .strict(false)
      .strictOptions()
      .positional('source', { type: 'string', demandOption: true, description: 'fioctl offline-update directories (one or more)' })
      .positional('destination', { type: 'string', description: 'Where the bundle goes: a directory, or a .tar or .zip file (none with --drive)' })
      .option('target', { type: 'string', array: true, description: 'Keep only this target (repeatable)' })
      .option('hardware-id', { type: 'string', array: true, description: 'Keep only targets for this hardware id (repeatable)' })
      .option('format', { choices: ['dir', 'tar', 'zip'] as const, description: 'Bundle format (default: tar or zip for a destination named so, else dir)' })
      .option('drive', { type: 'string', description: "Write to a drive: 'auto' (the only removable USB drive), its device or its mount point; the bundle goes to <mount point>/fioup-offline-bundle[.tar|.zip]" })
      .option('force', { type: 'boolean', default: false, description: 'Overwrite a bundle already at the destination' })
      .option('min-validity', { type: 'number', default: 30, description: 'Warn when metadata expires within this many days' })
      .epilog(exitCodesEpilog([
        ExitCode.ok, ExitCode.other, ExitCode.contentMissing, ExitCode.security, ExitCode.expired, ExitCode.metadataNotFound,
        ExitCode.invalidMetadata, ExitCode.insufficientSpace, ExitCode.contentVerification,
      ])) as Argv<BundleCreateArgs>,
  handler: (args) =>
    runCommand('bundle-create', args, async (output) => {
      const [{ createBundle }, { describeDrive, resolveDrive }, { hostChecks }, { bundleFormatFor }] = await Promise.all([
        import('../../lib/bundle/create.js'), import('../../lib/bundle/drive.js'), import('../../lib/bundle/host-checks.js'), import('../../lib/bundle/preflight.js'),
      ]);
      const drive = args.drive === undefined ? undefined : await resolveDrive(args.drive);
      if (drive) output.progress({ type: 'info', message: `writing to ${describeDrive(drive)}` });
      const { sources, destination } = splitDestination(paths(args), args.format, drive);
      const result = await createBundle({
        sources,
        destination,
        format: bundleFormatFor(destination, args.format),
        force: args.force,
        selection: { targets: args.target ?? [], hardwareIds: args['hardware-id'] ?? [] },
        checks: hostChecks({ minValidityDays: args['min-validity'], onWarning: (message) => output.warn(message) }),
        onProgress: output.progress,
      });
      output.result({ destination, ...(drive ? { drive } : {}), ...result }, describeCreated);
      return ExitCode.ok;
    }),
};

/** Every path of the command line, in order: the sources, then the destination (absent with --drive). */
function paths(args: BundleCreateArgs & { _: (string | number)[] }): string[] {
  return [args.source, ...(args.destination === undefined ? [] : [args.destination]), ...args._.slice(1).map(String)];
}

function splitDestination(given: string[], format: BundleFormat | undefined, drive: ChosenDrive | undefined): { sources: string[]; destination: string } {
  if (drive) {
    const name = (format ?? 'dir') === 'dir' ? 'fioup-offline-bundle' : `fioup-offline-bundle.${format}`;
    return { sources: given, destination: join(drive.mountPoint, name) };
  }
  if (given.length < 2) throw new UsageError('name at least one fioctl offline-update directory and the destination (or use --drive)');
  return { sources: given.slice(0, -1), destination: given.at(-1)! };
}

function describeCreated({ destination, ...result }: CreateBundleResult & { destination: string }): string {
  const bytes = result.manifest.files.reduce((sum, file) => sum + file.size, 0);
  return [
    `Bundle written to ${destination} and verified: ${result.manifest.files.length} files, ${formatBytes(bytes)}` +
      (result.skipped ? ` (${result.skipped} already present)` : ''),
    ...result.manifest.targets.map((target) => `  ${target.name} (version ${target.version ?? '-'}) for ${target.hardwareIds.join(', ') || '-'}: ${describeTarget(target)}`),
    `Metadata valid until ${result.manifest.metadataExpires}.`,
    ...result.notes.map((note) => `note: ${note}`),
  ].join('\n');
}

/** "installs rootfs and apps on linux/amd64 (12.1 MiB): web, health" */
function describeTarget(target: BundleTarget): string {
  const platforms = target.platforms.map((platform) => `${platform.platform} (${formatBytes(platform.bytes)})`).join(', ');
  const apps = target.apps.map((app) => app.name).join(', ') || 'no apps';
  return `installs ${target.installs}${platforms ? ` on ${platforms}` : ''}: ${apps}`;
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
        describe: 'Check a bundle byte for byte against its bundle.json, or a raw fioctl download as bundle-create would (exit 0 or the failure\'s code)',
        builder: (yargs) => bundlePath(yargs).epilog(exitCodesEpilog([
          ExitCode.ok, ExitCode.other, ExitCode.contentMissing, ExitCode.security, ExitCode.expired, ExitCode.metadataNotFound, ExitCode.invalidMetadata,
          ExitCode.contentVerification,
        ])),
        handler: (args) =>
          runCommand('bundle verify', args, async (output) => {
            const { verifyBundle } = await import('../../lib/bundle/verify.js');
            const report = await verifyBundle(args.bundle, { onProgress: output.progress, onWarning: (message) => output.warn(message) });
            output.result({ bundle: args.bundle, ok: true, ...report }, describeVerified);
            return ExitCode.ok;
          }),
      })
      .command<BundlePathArgs>({
        command: 'inspect <bundle>',
        describe: 'Summarise a bundle or a raw fioctl download: bundle-targets.json and its signatures, targets per hardware id, what each installs, platforms, apps, sizes',
        builder: (yargs) => bundlePath(yargs).epilog(exitCodesEpilog([ExitCode.ok, ExitCode.other, ExitCode.security, ExitCode.metadataNotFound, ExitCode.invalidMetadata])),
        handler: (args) =>
          runCommand('bundle inspect', args, async (output) => {
            const { inspectBundle } = await import('../../lib/bundle/inspect.js');
            const summary = await inspectBundle(args.bundle);
            output.result(summary, describeSummary);
            return ExitCode.ok;
          }),
      })
      .demandCommand(1, 'Name a bundle command: verify or inspect.'),
  handler: () => {},
};

function describeVerified(report: VerifyReport): string {
  if (report.kind === 'bundle') return `${report.medium}: all ${report.files} files intact.`;
  return [
    `${report.medium}: a fioctl download, as bundle-create checks it: metadata, app chains, and all ${report.files} blobs intact.`,
    ...(report.targets ?? []).map((target) => `  ${target.name}: ${describeTarget(target)}`),
  ].join('\n');
}

function describeSummary(summary: BundleSummary): string {
  const lines = [
    `${summary.medium}: ${summary.fileCount} files, ${formatBytes(summary.totalBytes)}, ` +
      (summary.writtenBy ? `made by ${summary.writtenBy.tool} at ${summary.writtenBy.createdAt}` : 'a fioctl download (no bundle.json)'),
    `metadata valid until ${summary.metadataExpires}`,
  ];
  const bundle = summary.bundleTargets;
  if (bundle) {
    lines.push(
      'Bundle targets (tuf/bundle-targets.json):',
      `  type ${bundle.type}, tag ${bundle.tag ?? '-'}, expires ${bundle.expires}`,
      `  targets: ${bundle.targets.join(', ') || '-'}`,
      `  signatures: ${bundle.signatures.join(', ') || '-'}`,
    );
    const role = bundle.targetsRole;
    if (role) {
      const missing = role.threshold - role.validSignatures;
      lines.push(`  targets keys of root version ${role.rootVersion}: ${role.allowedKeys.join(', ')}; threshold ${role.threshold}, ${role.validSignatures} valid` +
        (missing > 0 ? `; ${missing} more needed ('fioctl targets offline-update sign')` : ''));
    } else {
      lines.push('  no root on the medium: devices count the signatures against the roots they ship');
    }
  } else {
    lines.push('no tuf/bundle-targets.json: devices take every target for their hardware id');
  }
  for (const [hardwareId, targets] of Object.entries(summary.targetsByHardwareId)) {
    lines.push(`${hardwareId}:`);
    for (const target of targets) {
      lines.push(`  ${target.name}  version ${target.version ?? '-'}  tags ${target.tags.join(',') || '-'}  ${describeTarget(target)}`);
      for (const app of target.apps) {
        lines.push(`    ${app.name}: ${app.platforms.map((platform) => `${platform.platform} ${formatBytes(platform.bytes)}`).join(', ') || 'not in it'}`);
      }
    }
  }
  for (const target of summary.targets.filter((candidate) => candidate.problem !== undefined)) lines.push(`${target.name}: unusable (${target.problem})`);
  lines.push(summary.reports.length ? `reports from devices (${summary.reports.length}):` : 'no reports from devices on this drive');
  for (const report of summary.reports) {
    lines.push(report.problem
      ? `  ${report.file}: ${report.problem}`
      : `  ${report.finishedAt}  ${report.device}  ${report.result} (exit ${report.exitCode})  ${report.previousTarget ?? '-'} -> ${report.newTarget ?? '-'}  ${report.file}`);
  }
  return lines.join('\n');
}
